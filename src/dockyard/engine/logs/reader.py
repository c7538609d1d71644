"""Reading logs back with ``docker logs`` semantics.

Files are read oldest first (``.N`` ... ``.1``, then the live file), so output is in
the order it was written. ``tail`` keeps the last N messages that pass the stream
and time filters; ``follow`` then keeps reading the live file, across rotations,
until ``is_running()`` says the container has ended and the file is drained.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dockyard.errors import Corrupt

from .codec import decode_json_line, decode_local
from .timefmt import format_fixed
from .writer import log_file

__all__ = ["LogEntry", "format_entry", "read_logs"]


@dataclass(frozen=True)
class LogEntry:
    """One message: the bytes as written (with their newline, if any)."""

    stream: str
    time_ns: int
    data: bytes
    attrs: dict[str, str] = field(default_factory=dict)


def format_entry(entry: LogEntry, timestamps: bool = False, details: bool = False) -> bytes:
    """The bytes ``docker logs`` prints for one message (``-t`` and ``--details``)."""
    out = entry.data
    if details:
        from urllib.parse import quote_plus

        pairs = ",".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(entry.attrs.items()))
        out = pairs.encode() + b" " + out
    if timestamps:
        out = format_fixed(entry.time_ns).encode() + b" " + out
    return out


def _rotated(path: str) -> list[str]:
    """Rotated files of ``path``, oldest first."""
    found: list[tuple[int, str]] = []
    directory, base = os.path.split(path)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    for name in names:
        if not name.startswith(base + "."):
            continue
        num = name[len(base) + 1:].removesuffix(".gz")
        if num.isdigit():
            found.append((int(num), os.path.join(directory, name)))
    return [p for _, p in sorted(found, reverse=True)]


class _Decoder:
    """Incremental decoder of one file's records."""

    def __init__(self, driver: str, path: str) -> None:
        self.driver = driver
        self.path = path
        self.buf = b""
        self.offset = 0

    def feed(self, data: bytes) -> Iterator[LogEntry]:
        self.buf += data
        if self.driver == "json-file":
            lines = self.buf.split(b"\n")
            self.buf = lines.pop()
            for line in lines:
                self.offset += len(line) + 1
                if not line.strip():
                    continue
                try:
                    log, stream, ts, attrs = decode_json_line(line)
                except ValueError as e:
                    raise Corrupt(f"{self.path}: offset {self.offset}: {e}") from None
                yield LogEntry(stream, ts, log, attrs)
        else:
            pos = 0
            while True:
                try:
                    rec, nxt = decode_local(self.buf, pos)
                except ValueError as e:
                    raise Corrupt(f"{self.path}: {e}") from None
                if rec is None:
                    break
                pos = nxt
                yield LogEntry(rec[1], rec[2], rec[0])
            self.offset += pos
            self.buf = self.buf[pos:]


def _read_whole(driver: str, path: str) -> Iterator[LogEntry]:
    if path.endswith(".gz"):
        import gzip

        opener = gzip.open
    else:
        opener = open  # type: ignore[assignment]
    dec = _Decoder(driver, path)
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(1 << 20):
                yield from dec.feed(chunk)
    except FileNotFoundError:
        return  # rotated away while we looked: its content moved to the next name


def read_logs(directory: str | os.PathLike[str], container_id: str, driver: str, *,
              stdout: bool = True, stderr: bool = True,
              since_ns: int | None = None, until_ns: int | None = None,
              tail: int | None = None, follow: bool = False,
              is_running: Callable[[], bool] | None = None,
              poll_interval: float = 0.05) -> Iterator[LogEntry]:
    """Messages of a container, as ``docker logs`` selects them.

    ``tail=None`` means all; ``tail=0`` prints nothing from the past (with ``follow``
    only new output). ``follow`` without ``is_running`` follows until the caller stops.
    """
    from dockyard.errors import InvalidArgument

    if driver == "none":
        raise InvalidArgument(
            'configured logging driver does not support reading: driver "none"')
    path = log_file(os.fspath(directory), container_id, driver)
    if path is None:
        raise InvalidArgument(f"unknown log driver: {driver!r}")
    if tail is not None and tail < 0:
        tail = None

    def wanted(e: LogEntry) -> bool:
        if (e.stream == "stdout" and not stdout) or (e.stream == "stderr" and not stderr):
            return False
        if since_ns is not None and e.time_ns < since_ns:
            return False
        return until_ns is None or e.time_ns <= until_ns

    live_fd = -1
    try:
        # Open the live file before reading rotated ones: a rotation while we read the
        # older files then shows up as a changed inode, not as lost lines.
        try:
            live_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            live_fd = -1
        past: Iterator[LogEntry] = (e for p in _rotated(path) for e in _read_whole(driver, p))
        live = _Decoder(driver, path)

        def drain() -> Iterator[LogEntry]:
            while live_fd >= 0 and (chunk := os.read(live_fd, 1 << 20)):
                yield from live.feed(chunk)

        if tail is not None and driver == "json-file":
            # Read backwards from the end, newest file first: --tail stays cheap on
            # large logs. Follow then starts after the last complete line.
            end = _complete_size(live_fd)
            yield from _tail_json(path, live_fd, end, tail, wanted)
            if live_fd >= 0:
                os.lseek(live_fd, end, os.SEEK_SET)
                live.offset = end
        else:
            selected = (e for it in (past, drain()) for e in it if wanted(e))
            if tail is None:
                yield from selected
            else:  # maxlen=0 still reads everything, which moves the live file to its end
                yield from deque(selected, maxlen=tail)
        if not follow:
            return
        while True:
            running = is_running() if is_running else True
            for e in drain():
                if until_ns is not None and e.time_ns > until_ns:
                    return
                if wanted(e):
                    yield e
            if _replaced(path, live_fd):
                if live_fd >= 0:
                    os.close(live_fd)
                try:
                    live_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    live_fd = -1
                live = _Decoder(driver, path)
                continue
            if not running or (until_ns is not None and time.time_ns() > until_ns):
                return
            time.sleep(poll_interval)
    finally:
        if live_fd >= 0:
            os.close(live_fd)


def _complete_size(fd: int) -> int:
    """Size of a json-file up to its last newline (a writer may be mid-line)."""
    if fd < 0:
        return 0
    pos = os.fstat(fd).st_size
    while pos > 0:
        step = min(1 << 16, pos)
        block = os.pread(fd, step, pos - step)
        i = block.rfind(b"\n")
        if i >= 0:
            return pos - step + i + 1
        pos -= step
    return 0


def _lines_backwards(fd: int, end: int) -> Iterator[bytes]:
    pos, rest = end, b""
    while pos > 0:
        step = min(1 << 16, pos)
        pos -= step
        parts = (os.pread(fd, step, pos) + rest).split(b"\n")
        rest = parts[0]
        for line in reversed(parts[1:]):
            if line.strip():
                yield line
    if rest.strip():
        yield rest


def _tail_json(path: str, live_fd: int, live_end: int, n: int,
               wanted: Callable[[LogEntry], bool]) -> list[LogEntry]:
    """The last ``n`` wanted entries of the live file and its rotated files, in order."""
    found: list[LogEntry] = []
    if n <= 0:
        return found

    def scan(lines: Iterator[bytes], name: str) -> bool:
        for line in lines:
            try:
                log, stream, ts, attrs = decode_json_line(line)
            except ValueError as e:
                raise Corrupt(f"{name}: {e}") from None
            entry = LogEntry(stream, ts, log, attrs)
            if wanted(entry):
                found.append(entry)
                if len(found) == n:
                    return True
        return False

    done = live_fd >= 0 and scan(_lines_backwards(live_fd, live_end), path)
    for rotated in reversed(_rotated(path)):  # newest first
        if done:
            break
        if rotated.endswith(".gz"):
            import gzip

            try:
                with gzip.open(rotated, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            done = scan((ln for ln in reversed(data.split(b"\n")) if ln.strip()), rotated)
        else:
            try:
                fd = os.open(rotated, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                done = scan(_lines_backwards(fd, os.fstat(fd).st_size), rotated)
            finally:
                os.close(fd)
    found.reverse()
    return found


def _replaced(path: str, fd: int) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    if fd < 0:
        return True
    return os.fstat(fd).st_ino != st.st_ino
