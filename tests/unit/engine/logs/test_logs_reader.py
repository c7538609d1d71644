"""docker logs semantics: streams, since/until, tail, -t, --details, follow."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dockyard.engine.logs import LogEntry, LogWriter, format_entry, log_file, read_logs
from dockyard.errors import Corrupt, InvalidArgument

S = 10**9


def _fill(tmp: Path, driver: str = "json-file") -> None:
    path = log_file(str(tmp), "c", driver)
    assert path is not None
    w = LogWriter(path, driver, 700, 5, False, {"app": "web x"})  # rotates, loses nothing
    for i in range(20):
        w.write("stderr" if i % 2 else "stdout", f"m{i}\n".encode(), (100 + i) * S)
    w.close()


@pytest.mark.parametrize("driver", ["json-file", "local"])
def test_filters(tmp_path: Path, driver: str) -> None:
    _fill(tmp_path, driver)

    def read(**kw: object) -> list[bytes]:
        return [e.data for e in read_logs(tmp_path, "c", driver, **kw)]  # type: ignore[arg-type]

    assert read() == [f"m{i}\n".encode() for i in range(20)]
    assert read(stderr=False) == [f"m{i}\n".encode() for i in range(0, 20, 2)]
    assert read(stdout=False, tail=2) == [b"m17\n", b"m19\n"]
    assert read(since_ns=115 * S) == [f"m{i}\n".encode() for i in range(15, 20)]
    assert read(until_ns=101 * S) == [b"m0\n", b"m1\n"]
    assert read(since_ns=104 * S, until_ns=106 * S, tail=2) == [b"m5\n", b"m6\n"]
    assert read(tail=0) == []
    assert read(tail=-1) == read()
    assert read(tail=100) == read()


def test_timestamps_and_details() -> None:
    e = LogEntry("stdout", 5 * S + 50, b"hi\n", {"b": "2", "a": "x y"})
    assert format_entry(e) == b"hi\n"
    assert format_entry(e, timestamps=True) == b"1970-01-01T00:00:05.000000050Z hi\n"
    assert format_entry(e, details=True) == b"a=x+y,b=2 hi\n"
    assert format_entry(e, True, True) == b"1970-01-01T00:00:05.000000050Z a=x+y,b=2 hi\n"


def test_details_read_from_json_attrs(tmp_path: Path) -> None:
    _fill(tmp_path)
    first = next(iter(read_logs(tmp_path, "c", "json-file")))
    assert format_entry(first, details=True) == b"app=web+x m0\n"


@pytest.mark.timeout(30)
def test_follow_across_rotations_until_stopped(tmp_path: Path) -> None:
    path = log_file(str(tmp_path), "c", "json-file")
    assert path is not None
    w = LogWriter(path, "json-file", 400, 3, False, {})
    w.write("stdout", b"before\n", S)
    done = threading.Event()

    def produce() -> None:
        for i in range(60):
            w.write("stdout", f"live{i}\n".encode(), (2 + i) * S)
            if i % 10 == 0:
                time.sleep(0.03)
        done.set()

    t = threading.Thread(target=produce)
    got: list[bytes] = []
    it = read_logs(tmp_path, "c", "json-file", follow=True, tail=1,
                   is_running=lambda: not done.is_set(), poll_interval=0.005)
    got.append(next(it).data)
    t.start()
    got += [e.data for e in it]
    t.join()
    w.close()
    assert got[0] == b"before\n"
    live = [int(g[4:-1]) for g in got[1:]]
    assert live == sorted(live) and live[-1] == 59  # in order, to the end
    # Rotation is by 400 bytes: a poll may miss a file rotated twice in between, but the
    # 3 ms writer pauses keep most lines.
    assert len(live) >= 30


@pytest.mark.timeout(30)
def test_follow_stops_at_until(tmp_path: Path) -> None:
    _fill(tmp_path)
    got = list(read_logs(tmp_path, "c", "json-file", follow=True, until_ns=103 * S))
    assert [e.data for e in got] == [b"m0\n", b"m1\n", b"m2\n", b"m3\n"]


def test_missing_file_reads_empty(tmp_path: Path) -> None:
    assert list(read_logs(tmp_path, "nothing", "json-file")) == []


def test_corrupt_line_is_named(tmp_path: Path) -> None:
    path = Path(log_file(str(tmp_path), "c", "json-file") or "")
    path.write_bytes(b'{"log":"ok\\n","stream":"stdout","time":"2025-01-01T00:00:00Z"}\nnot json\n')
    with pytest.raises(Corrupt, match=r"-json\.log"):
        list(read_logs(tmp_path, "c", "json-file"))


def test_unknown_and_none_drivers(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="unknown log driver"):
        list(read_logs(tmp_path, "c", "gelf"))
    with pytest.raises(InvalidArgument, match='driver "none"'):
        list(read_logs(tmp_path, "c", "none"))


@pytest.mark.parametrize("compress", [False, True])
def test_tail_reads_backwards_like_a_full_read(tmp_path: Path, compress: bool) -> None:
    path = log_file(str(tmp_path), "c", "json-file")
    assert path is not None
    w = LogWriter(path, "json-file", 2000, 4, compress, {})
    for i in range(200):
        w.write("stderr" if i % 3 == 0 else "stdout", f"n{i}\n".encode(), (1000 + i) * S)
    w.close()
    full = list(read_logs(tmp_path, "c", "json-file"))
    assert len(full) > 40  # several files' worth survived rotation
    for n in (1, 2, 7, 30, len(full), len(full) + 5):
        assert list(read_logs(tmp_path, "c", "json-file", tail=n)) == full[-n:]
        errs = [e for e in full if e.stream == "stderr"]
        assert list(read_logs(tmp_path, "c", "json-file", tail=n, stdout=False)) == errs[-n:]
        since = [e for e in full if e.time_ns >= 1150 * S]
        assert list(read_logs(tmp_path, "c", "json-file", tail=n, since_ns=1150 * S)) \
            == since[-n:]


@pytest.mark.timeout(30)
def test_tail_then_follow_starts_after_the_last_complete_line(tmp_path: Path) -> None:
    from dockyard.engine.logs.codec import encode_json_line

    path = Path(log_file(str(tmp_path), "c", "json-file") or "")
    lines = [encode_json_line(f"m{i}\n".encode(), "stdout", (i + 1) * S) for i in range(3)]
    half = encode_json_line(b"late\n", "stdout", 9 * S)
    path.write_bytes(b"".join(lines) + half[:10])  # a writer caught mid-line
    running = [True]
    it = read_logs(tmp_path, "c", "json-file", tail=2, follow=True,
                   is_running=lambda: running[0], poll_interval=0.001)
    assert [next(it).data, next(it).data] == [b"m1\n", b"m2\n"]
    with path.open("ab") as f:
        f.write(half[10:])
    assert next(it).data == b"late\n"
    running[0] = False
    assert list(it) == []
