"""A blob's bytes followed as they arrive: the reader waits for more, sees the end only
once the blob is verified, follows the file when it is renamed, and raises when the
download fails."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from dockyard.distribution.client.feed import Feed, FeedReader
from dockyard.errors import Corrupt, SystemFailure


def _read_all(feed: Feed, out: list[bytes], errors: list[BaseException]) -> None:
    try:
        with FeedReader(feed) as r:
            while chunk := r.read(7):
                out.append(chunk)
    except BaseException as err:  # handed to the test thread
        errors.append(err)


def _start_reader(feed: Feed) -> tuple[threading.Thread, list[bytes], list[BaseException]]:
    out: list[bytes] = []
    errors: list[BaseException] = []
    t = threading.Thread(target=_read_all, args=(feed, out, errors))
    t.start()
    return t, out, errors


def test_follows_writes_and_ends_only_when_finished(tmp_path: Path) -> None:
    ingest, final = tmp_path / "ingest", tmp_path / "blob"
    feed = Feed("blob x")
    t, out, errors = _start_reader(feed)  # waits: not started yet
    with open(ingest, "wb") as f:
        feed.start(ingest)
        for part in (b"hello ", b"streaming ", b"world"):
            f.write(part)
            f.flush()
            feed.grew(f.tell())
            time.sleep(0.01)
        time.sleep(0.05)
        assert t.is_alive()  # all bytes read, but the end is not known yet
        os.rename(ingest, final)  # as the content store publishes a verified blob
        feed.finish(final, f.tell())
    t.join(5)
    assert not t.is_alive() and not errors
    assert b"".join(out) == b"hello streaming world"
    assert feed.done


def test_opens_the_renamed_file(tmp_path: Path) -> None:
    final = tmp_path / "blob"
    final.write_bytes(b"already complete")
    feed = Feed("blob x")
    feed.start(tmp_path / "gone-ingest", 16)  # renamed before the reader opened it
    t, out, errors = _start_reader(feed)
    time.sleep(0.05)
    feed.finish(final, 16)
    t.join(5)
    assert not errors and b"".join(out) == b"already complete"


@pytest.mark.parametrize(("err", "kind", "message"), [
    (Corrupt("blob x: digest mismatch"), Corrupt, "digest mismatch"),
    (None, SystemFailure, "blob x: download stopped before the end"),
    (KeyboardInterrupt(), SystemFailure, "download stopped"),
])
def test_failure_reaches_the_reader(tmp_path: Path, err: BaseException | None,
                                    kind: type[Exception], message: str) -> None:
    ingest = tmp_path / "ingest"
    ingest.write_bytes(b"half of it")
    feed = Feed("blob x")
    feed.start(ingest, 10)
    t, _out, errors = _start_reader(feed)
    time.sleep(0.05)
    feed.fail(err)
    t.join(5)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], kind)
    assert message in str(errors[0])
    feed.finish(ingest, 10)  # too late: a failed feed stays failed
    assert not feed.done


def test_fail_after_finish_is_ignored(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"ok")
    feed = Feed("blob x")
    feed.finish(blob, 2)
    feed.fail(Corrupt("late"))
    with FeedReader(feed) as r:
        assert r.read() == b"ok" and r.read() == b""
