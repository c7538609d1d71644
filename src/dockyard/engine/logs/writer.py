"""Writing a container's output: splitting into messages, the drivers, rotation.

Runs inside the monitor process, so this module imports only what it must
(``gzip`` only when a compressed rotation happens).

Files: ``json-file`` writes ``<dir>/<id>-json.log`` like Docker; ``local`` writes
``<dir>/local-logs/container.log``. Rotated files get ``.1``, ``.2``... (``.1`` the
newest), with ``.gz`` when compressed. A record is never split across files, and a
file is rotated before a record would take it past ``max_size``.
"""

from __future__ import annotations

import os

from .codec import encode_attrs, encode_json_line, encode_local

__all__ = ["MAX_MESSAGE", "LineSplitter", "LogWriter", "log_file", "open_writer"]

MAX_MESSAGE = 16 * 1024
"""Longest message; longer lines are split into partial messages, as Docker does."""


class LineSplitter:
    """Turns a byte stream into messages: each line with its ``\\n``, or a partial chunk.

    A chunk without a newline is held until the newline arrives or it reaches
    ``MAX_MESSAGE`` bytes; ``flush`` returns what is held (at end of stream).
    """

    def __init__(self, limit: int = MAX_MESSAGE) -> None:
        self.limit = limit
        self._held = b""

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._held + data if self._held else data
        out: list[bytes] = []
        start = 0
        while True:
            nl = buf.find(b"\n", start, start + self.limit)
            if nl >= 0:
                out.append(buf[start:nl + 1])
                start = nl + 1
            elif len(buf) - start >= self.limit:
                out.append(buf[start:start + self.limit])
                start += self.limit
            else:
                break
        self._held = buf[start:]
        return out

    def flush(self) -> list[bytes]:
        held, self._held = self._held, b""
        return [held] if held else []


def log_file(directory: str, container_id: str, driver: str) -> str | None:
    """The live log file of ``driver`` in a container dir (None for ``none``)."""
    if driver == "json-file":
        return os.path.join(directory, f"{container_id}-json.log")
    if driver == "local":
        return os.path.join(directory, "local-logs", "container.log")
    return None


class LogWriter:
    """Appends encoded records to a file, rotating by size."""

    def __init__(self, path: str, driver: str, max_size: int, max_file: int,
                 compress: bool, attrs: dict[str, str]) -> None:
        self.path = path
        self.driver = driver
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self.compress = compress
        self._attrs = encode_attrs(attrs)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._size = os.fstat(self._fd).st_size

    def write(self, stream: str, data: bytes, time_ns: int) -> None:
        """Write one message of ``stream`` (``stdout``/``stderr``) at ``time_ns``."""
        if self.driver == "json-file":
            rec = encode_json_line(data, stream, time_ns, self._attrs)
        else:
            rec = encode_local(data, stream, time_ns, partial=not data.endswith(b"\n"))
        if 0 <= self.max_size < self._size + len(rec) and self._size > 0:
            self.rotate()
        view = memoryview(rec)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._size += len(rec)

    def rotate(self) -> None:
        """Shift ``.N`` files up, drop the oldest, start an empty live file."""
        os.close(self._fd)
        if self.max_file > 1:
            suffix = ".gz" if self.compress else ""
            oldest = f"{self.path}.{self.max_file - 1}"
            for name in (oldest, oldest + ".gz"):
                if os.path.exists(name):
                    os.unlink(name)
            for i in range(self.max_file - 2, 0, -1):
                for ext in ("", ".gz"):
                    src = f"{self.path}.{i}{ext}"
                    if os.path.exists(src):
                        os.rename(src, f"{self.path}.{i + 1}{ext}")
            if suffix:
                _gzip_to(self.path, f"{self.path}.1.gz")
                os.unlink(self.path)
            else:
                os.rename(self.path, f"{self.path}.1")
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_TRUNC
        self._fd = os.open(self.path, flags, 0o640)
        self._size = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _gzip_to(src: str, dest: str) -> None:
    """Compress ``src`` into ``dest`` through a temporary name, then rename."""
    import gzip
    import shutil

    tmp = dest + ".tmp"
    with open(src, "rb") as fin, gzip.open(tmp, "wb", compresslevel=6) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    os.rename(tmp, dest)


def open_writer(directory: str, container_id: str, cfg: dict[str, object]) -> LogWriter | None:
    """A writer for the monitor's ``log`` config section (see ``options.LogConfig``)."""
    driver = str(cfg.get("driver", "json-file"))
    path = log_file(directory, container_id, driver)
    if path is None:
        return None
    attrs = cfg.get("attrs") or {}
    assert isinstance(attrs, dict)
    return LogWriter(path, driver, int(cfg.get("max_size", -1)),  # type: ignore[call-overload]
                     int(cfg.get("max_file", 1)), bool(cfg.get("compress", False)),  # type: ignore[call-overload]
                     {str(k): str(v) for k, v in attrs.items()})
