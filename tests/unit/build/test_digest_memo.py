"""DigestMemo: big context files are not re-read while unchanged, and any write makes
them read again (ctime moves even when size and mtime are put back)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.build import DigestMemo, content_digest
from dockyard.build import cache as cache_mod

BIG = DigestMemo.MIN_SIZE


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    reads: list[Path] = []
    real = cache_mod._file_digest

    def counting(path: Path) -> str:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(cache_mod, "_file_digest", counting)
    return reads


def test_unchanged_big_files_are_read_once_across_builds(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "big").write_bytes(os.urandom(BIG))
    (ctx / "small").write_bytes(b"s")
    reads = count_reads(monkeypatch)
    store = tmp_path / "digests.json"
    memo = DigestMemo(store)
    first = content_digest(ctx, ["."], memo=memo)
    memo.save()
    again = DigestMemo(store)  # the next build loads what the first one saved
    assert content_digest(ctx, ["."], memo=again) == first == content_digest(ctx, ["."])
    # big read by the first build and by the memo-less call; small every time
    assert [p.name for p in reads].count("big") == 2
    assert [p.name for p in reads].count("small") == 3


def test_a_changed_byte_is_always_seen(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    data = bytearray(os.urandom(BIG))
    big = ctx / "big"
    big.write_bytes(data)
    memo = DigestMemo(tmp_path / "digests.json")
    before = content_digest(ctx, ["big"], memo=memo)
    st = os.stat(big)
    data[100] ^= 1
    with open(big, "r+b") as f:  # same inode, same size
        f.write(data)
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime back
    after = content_digest(ctx, ["big"], memo=memo)
    assert after != before
    assert after == content_digest(ctx, ["big"])


def test_touch_keeps_the_digest(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "big").write_bytes(os.urandom(BIG))
    memo = DigestMemo(tmp_path / "digests.json")
    before = content_digest(ctx, ["big"], memo=memo)
    os.utime(ctx / "big", (1, 1))
    assert content_digest(ctx, ["big"], memo=memo) == before


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"1:2": 5}', '{"1:2": [1]}',
                                  "BROKEN-STAMP"])
def test_a_broken_memo_file_is_ignored(tmp_path: Path, text: str) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "big").write_bytes(os.urandom(BIG))
    store = tmp_path / "digests.json"
    if text == "BROKEN-STAMP":  # the right stamp, no digest
        st = os.lstat(ctx / "big")
        text = f'{{"{st.st_dev}:{st.st_ino}": [{st.st_size}, {st.st_mtime_ns}, ' \
               f'{st.st_ctime_ns}]}}'
    store.write_text(text)
    memo = DigestMemo(store)
    assert content_digest(ctx, ["big"], memo=memo) == content_digest(ctx, ["big"])
    memo.save()
    assert DigestMemo(store).entries  # rewritten whole


def test_the_memo_keeps_the_newest_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DigestMemo, "MAX_ENTRIES", 2)
    store = tmp_path / "digests.json"
    memo = DigestMemo(store)
    for n in range(3):
        f = tmp_path / f"f{n}"
        f.write_bytes(os.urandom(BIG))
        memo.digest(f, os.lstat(f))
    memo.save()
    kept = DigestMemo(store).entries
    newest = {f"{os.lstat(tmp_path / n).st_dev}:{os.lstat(tmp_path / n).st_ino}"
              for n in ("f1", "f2")}
    assert set(kept) == newest
