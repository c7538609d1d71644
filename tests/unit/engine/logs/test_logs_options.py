"""--log-driver/--log-opt validation and defaults."""

from __future__ import annotations

import pytest

from dockyard.engine.logs import parse_log_config, parse_size
from dockyard.errors import InvalidArgument


def test_json_file_rotates_by_default() -> None:
    cfg = parse_log_config(None)
    assert cfg == {"driver": "json-file", "max_size": 10 << 20, "max_file": 3,
                   "compress": False, "attrs": {}}


def test_local_defaults_like_docker() -> None:
    cfg = parse_log_config("local")
    assert (cfg["max_size"], cfg["max_file"], cfg["compress"]) == (20 << 20, 5, True)


@pytest.mark.parametrize(("text", "size"), [("10m", 10 << 20), ("512k", 512 << 10),
                                           ("1.5g", 3 << 29), ("100", 100), ("2MiB", 2 << 20),
                                           ("7 kb", 7 << 10), ("1G", 1 << 30)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(("driver", "opts", "match"), [
    ("syslog", {}, "unknown log driver: 'syslog'"),
    ("json-file", {"max-size": "ten"}, "invalid max-size: 'ten'"),
    ("json-file", {"max-size": "0"}, "invalid max-size"),
    ("json-file", {"max-file": "x"}, "invalid max-file: 'x'"),
    ("json-file", {"max-file": "0"}, "invalid max-file: '0'"),
    ("json-file", {"compress": "maybe"}, "invalid compress: 'maybe'"),
    ("json-file", {"compress": "true", "max-file": "1"}, "invalid compress"),
    ("json-file", {"max-sise": "1m"}, "unknown log opt 'max-sise' for json-file log driver"),
    ("none", {"max-size": "1m"}, "unknown log opt 'max-size' for none log driver"),
    ("json-file", {"labels-regex": "("}, "invalid labels-regex"),
])
def test_bad_options_are_named(driver: str, opts: dict[str, str], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        parse_log_config(driver, opts)


def test_attrs_from_labels_and_env() -> None:
    cfg = parse_log_config("json-file", {"labels": "app,missing", "env": "HOME",
                                         "env-regex": "^X_"},
                           labels={"app": "web", "other": "no"},
                           env=["HOME=/root", "X_A=1", "PATH=/bin", "X_B"])
    assert cfg["attrs"] == {"app": "web", "HOME": "/root", "X_A": "1", "X_B": ""}
