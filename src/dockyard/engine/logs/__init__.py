"""Container logs: the ``json-file``, ``local`` and ``none`` drivers, rotation, and
reading back with ``docker logs`` semantics (follow, since, until, tail, timestamps,
details). The writer half runs inside the monitor process and imports only the
standard library; keep this file free of heavy imports for the same reason.
"""

from .options import DRIVERS, LogConfig, log_attrs, parse_log_config, parse_size
from .reader import LogEntry, format_entry, read_logs
from .timefmt import ZERO_TIME, format_fixed, format_nano, parse_nano, parse_since
from .writer import LineSplitter, LogWriter, log_file, open_writer

__all__ = [
    "DRIVERS",
    "ZERO_TIME",
    "LineSplitter",
    "LogConfig",
    "LogEntry",
    "LogWriter",
    "format_entry",
    "format_fixed",
    "format_nano",
    "log_attrs",
    "log_file",
    "open_writer",
    "parse_log_config",
    "parse_nano",
    "parse_since",
    "parse_size",
    "read_logs",
]
