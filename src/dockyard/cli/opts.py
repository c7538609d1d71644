"""Parsers for single flag values, with the docker CLI's rules and messages.

Each parser takes the text of one flag value and returns the JSON-ready value the
Docker Engine API expects in Config or HostConfig, raising ``InvalidArgument`` with
docker's wording otherwise. ``runflags.py`` applies them to ``run``/``create``.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterable
from typing import Any

from dockyard.cli.units import parse_bytes
from dockyard.errors import InvalidArgument

__all__ = [
    "parse_add_host",
    "parse_cpus",
    "parse_device",
    "parse_env",
    "parse_kv_file",
    "parse_label",
    "parse_log_opts",
    "parse_restart",
    "parse_security_opt",
    "parse_signal",
    "parse_throttle_bps",
    "parse_throttle_iops",
    "parse_ulimit",
    "parse_weight_device",
    "read_env_files",
    "read_label_files",
]

_BLANKS = " \t"


def parse_cpus(text: str) -> int:
    """``--cpus 1.5`` → NanoCpus 1500000000; more than 9 decimals is "too precise"."""
    from fractions import Fraction

    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InvalidArgument(f"failed to parse {text} as a rational number")
    nano = value * 1_000_000_000
    if nano.denominator != 1:
        raise InvalidArgument("value is too precise")
    return int(nano)


_ULIMITS = {
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
    "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
}


def _go_int(text: str, what: str) -> int:
    try:
        if not text or text.strip() != text or "_" in text:
            raise ValueError
        value = int(text, 10)
    except ValueError:
        raise InvalidArgument(f'invalid ulimit {what} value: strconv.ParseInt: parsing "{text}"'
                              ": invalid syntax")
    if not -(1 << 63) <= value < (1 << 63):
        raise InvalidArgument(f'invalid ulimit {what} value: strconv.ParseInt: parsing "{text}"'
                              ": value out of range")
    return value


def parse_ulimit(text: str) -> dict[str, Any]:
    """``nofile=1024:2048`` → ``{"Name": "nofile", "Hard": 2048, "Soft": 1024}``."""
    parts = text.split("=", 1)
    if len(parts) != 2:
        raise InvalidArgument(f"invalid ulimit argument: {text}")
    name, limits = parts
    if name not in _ULIMITS:
        raise InvalidArgument(f"invalid ulimit type: {name}")
    values = limits.split(":", 1)
    soft = _go_int(values[0], "soft")
    hard = soft
    if len(values) == 2:
        hard = _go_int(values[1], "hard")
        if soft > hard:
            raise InvalidArgument(
                f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def parse_env(text: str, lookup: Callable[[str], str | None] = os.environ.get) -> str:
    """``-e K=V`` as given; ``-e K`` takes K's value from our environment if set."""
    name, sep, _ = text.partition("=")
    if not name:
        raise InvalidArgument(f"invalid environment variable: {text}")
    if sep:
        return text
    value = lookup(text)
    return text if value is None else f"{text}={value}"


def parse_kv_file(path: str, lookup: Callable[[str], str | None] | None) -> list[str]:
    """Docker's env/label file: ``K=V`` lines, ``#`` comments, blank lines skipped.

    A line without ``=`` is looked up with ``lookup`` (env files) and dropped when unset.
    Values are passed through untouched; keys may not contain blanks.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise InvalidArgument(f"open {path}: {err.strerror.lower() if err.strerror else err}")
    lines: list[str] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        raw = raw.removesuffix(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument(f"env file {path} contains invalid utf8 bytes at line {number}")
        line = text.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.lstrip(_BLANKS)
        if any(c in key for c in _BLANKS):
            raise InvalidArgument(f"variable '{key}' contains whitespaces")
        if not key:
            raise InvalidArgument(f"no variable name on line '{line}'")
        if sep:
            lines.append(f"{key}={value}")
        elif lookup is not None:
            found = lookup(line.strip())
            if found is not None:
                lines.append(f"{line.strip()}={found}")
    return lines


def read_env_files(paths: Iterable[str]) -> list[str]:
    """Every ``--env-file``'s entries, in order (later -e flags override them)."""
    return [entry for p in paths for entry in parse_kv_file(p, os.environ.get)]


def read_label_files(paths: Iterable[str]) -> list[str]:
    """Every ``--label-file``'s ``K=V`` entries, in order."""
    return [entry for p in paths for entry in parse_kv_file(p, None)]


def parse_label(text: str) -> tuple[str, str]:
    """``-l k=v`` → (k, v); ``-l k`` → (k, "")."""
    key, _, value = text.partition("=")
    if not key:
        raise InvalidArgument(f"invalid label '{text}': empty name")
    return key, value


def parse_add_host(text: str) -> str:
    """``--add-host name:ip`` (IPv6 addresses keep their colons; ``host-gateway``)."""
    import ipaddress

    name, sep, address = text.partition(":")
    if not sep or not name or not address:
        raise InvalidArgument(f'bad format for add-host: "{text}"')
    if address != "host-gateway":
        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise InvalidArgument(f'invalid IP address in add-host: "{address}"')
    return text


def _valid_mode(mode: str) -> bool:
    return 0 < len(mode) <= 3 and all(c in "rwm" for c in mode) and len(set(mode)) == len(mode)


def parse_device(text: str) -> dict[str, str]:
    """``/dev/x[:/dev/y][:rwm]`` → a DeviceMapping."""
    parts = text.split(":")
    if len(parts) > 3 or not parts[0]:
        raise InvalidArgument(f"invalid device specification: {text}")
    src, dst, mode = parts[0], "", "rwm"
    if len(parts) == 3:
        dst, mode = parts[1], parts[2]
        if not _valid_mode(mode):
            raise InvalidArgument(f"invalid device mode: {mode}")
    elif len(parts) == 2:
        if _valid_mode(parts[1]):
            mode = parts[1]
        else:
            dst = parts[1]
    dst = dst or src
    for path in (src, dst):
        if not path.startswith("/"):
            raise InvalidArgument(f"{path} is not an absolute path")
    return {"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": mode}


def _device_and_value(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2:
        raise InvalidArgument(f"bad format: {text}")
    if not parts[0].startswith("/dev/"):
        raise InvalidArgument(f"bad format for device path: {text}")
    return parts[0], parts[1]


def parse_throttle_bps(text: str) -> dict[str, Any]:
    """``--device-read-bps /dev/sda:1mb`` → ``{"Path": "/dev/sda", "Rate": 1048576}``."""
    path, value = _device_and_value(text)
    try:
        rate = parse_bytes(value)
    except InvalidArgument:
        rate = -1
    if rate < 0:
        raise InvalidArgument(
            f"invalid rate for device: {text}. The correct format is "
            "<device-path>:<number>[<unit>]. Number must be a positive integer. "
            "Unit is optional and can be kb, mb, or gb")
    return {"Path": path, "Rate": rate}


def parse_throttle_iops(text: str) -> dict[str, Any]:
    """``--device-read-iops /dev/sda:1000`` → ``{"Path": "/dev/sda", "Rate": 1000}``."""
    path, value = _device_and_value(text)
    if not value.isdigit():
        raise InvalidArgument(
            f"invalid rate for device: {text}. The correct format is <device-path>:<number>. "
            "Number must be a positive integer")
    return {"Path": path, "Rate": int(value)}


def parse_weight_device(text: str) -> dict[str, Any]:
    """``--blkio-weight-device /dev/sda:300`` → ``{"Path", "Weight"}`` (10-1000 or 0)."""
    path, value = _device_and_value(text)
    if not value.isdigit():
        raise InvalidArgument(f"invalid weight for device: {text}")
    weight = int(value)
    if weight != 0 and not 10 <= weight <= 1000:
        raise InvalidArgument(f"invalid weight for device: {text}")
    return {"Path": path, "Weight": weight}


def parse_security_opt(text: str) -> str:
    """``seccomp=FILE`` inlines the file's compacted JSON; others are checked for shape."""
    key, sep, value = text.partition("=")
    if not sep and text != "no-new-privileges":
        if ":" not in text:
            raise InvalidArgument(f'invalid --security-opt: "{text}"')
        key, _, value = text.partition(":")
    if key == "seccomp" and value != "unconfined":
        try:
            with open(value, "rb") as f:
                profile = json.loads(f.read())
        except OSError as err:
            raise InvalidArgument(f"opening seccomp profile ({value}) failed: {err.strerror}")
        except ValueError as err:
            raise InvalidArgument(f"compacting json for seccomp profile ({value}) failed: {err}")
        return "seccomp=" + json.dumps(profile, separators=(",", ":"), ensure_ascii=False)
    return text


def parse_log_opts(driver: str, opts: Iterable[str]) -> dict[str, str]:
    """``--log-opt k=v`` pairs into LogConfig.Config; the ``none`` driver takes none."""
    result: dict[str, str] = {}
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"invalid log opt '{opt}': expected key=value")
        result[key] = value
    if driver == "none" and result:
        raise InvalidArgument(f"invalid logging opts for driver {driver}")
    return result


_RESTART = {"no", "always", "unless-stopped", "on-failure"}


def parse_restart(text: str) -> dict[str, Any]:
    """``--restart on-failure:3`` → ``{"Name": "on-failure", "MaximumRetryCount": 3}``."""
    if not text:
        return {"Name": "", "MaximumRetryCount": 0}
    name, sep, count = text.partition(":")
    if name not in _RESTART:
        raise InvalidArgument(f"invalid restart policy {name}")
    retries = 0
    if sep:
        if name != "on-failure":
            raise InvalidArgument(
                f"maximum retry count cannot be used with restart policy '{name}'")
        if not count.lstrip("-").isdigit():
            raise InvalidArgument("invalid restart policy format: maximum retry count must be "
                                  "an integer")
        retries = int(count)
        if retries < 0:
            raise InvalidArgument("invalid restart policy: maximum retry count cannot be negative")
    return {"Name": name, "MaximumRetryCount": retries}


def _signal_names() -> dict[str, int]:
    names = {s.name[3:]: int(s) for s in signal.Signals if not s.name.startswith("SIG_")}
    low, high = int(signal.SIGRTMIN), int(signal.SIGRTMAX)
    for i in range(1, (high - low) // 2 + 1):
        names[f"RTMIN+{i}"] = low + i
        names[f"RTMAX-{i}"] = high - i
    return names


def parse_signal(text: str) -> int:
    """A signal name or number (``SIGTERM``, ``term``, ``15``, ``RTMIN+3``) → its number."""
    if text.isdigit():
        number = int(text)
        if not 0 < number <= int(signal.SIGRTMAX):
            raise InvalidArgument(f"invalid signal: {text}")
        return number
    number_for = _signal_names().get(text.upper().removeprefix("SIG"))
    if number_for is None:
        raise InvalidArgument(f"invalid signal: {text}")
    return number_for
