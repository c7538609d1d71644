"""``--change`` instructions for ``import`` and ``commit`` (Dockerfile syntax, one line)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["SUPPORTED", "apply_changes"]

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "VOLUME", "WORKDIR")


def _command(arg: str) -> list[str]:
    """JSON exec form, else shell form wrapped in ``/bin/sh -c`` (as docker does)."""
    if arg.startswith("["):
        try:
            value = json.loads(arg)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", arg]


def _pairs(arg: str, what: str, change: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(arg)
    except ValueError as err:
        raise InvalidArgument(f"--change {change!r}: {err}") from None
    if not words:
        raise InvalidArgument(f"--change {change!r}: {what} needs an argument")
    if "=" not in words[0]:  # legacy ``ENV key value with spaces``
        if len(words) < 2:
            raise InvalidArgument(f"--change {change!r}: {what} needs a value")
        return [(words[0], arg.split(None, 1)[1].strip())]
    out = []
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            raise InvalidArgument(f"--change {change!r}: {what} wants key=value, got {w!r}")
        out.append((key, value))
    return out


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """A copy of the image's runtime ``config`` with the instructions applied."""
    out: dict[str, Any] = json.loads(json.dumps(config))
    for change in changes:
        keyword, _, arg = change.strip().partition(" ")
        keyword, arg = keyword.upper(), arg.strip()
        if keyword not in SUPPORTED:
            raise InvalidArgument(f"--change {change!r}: unsupported instruction "
                                  f"{keyword or '(empty)'} (want one of {', '.join(SUPPORTED)})")
        if not arg:
            raise InvalidArgument(f"--change {change!r}: {keyword} needs an argument")
        if keyword in ("CMD", "ENTRYPOINT"):
            out[keyword.title()] = _command(arg)
        elif keyword == "ENV":
            env = [e for e in out.get("Env") or []]
            for key, value in _pairs(arg, keyword, change):
                env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]
            out["Env"] = env
        elif keyword == "LABEL":
            labels = dict(out.get("Labels") or {})
            labels.update(_pairs(arg, keyword, change))
            out["Labels"] = labels
        elif keyword == "EXPOSE":
            ports = dict(out.get("ExposedPorts") or {})
            for p in arg.split():
                port, _, proto = p.partition("/")
                if not port.isdigit() or not 0 < int(port) < 65536 or \
                        proto not in ("", "tcp", "udp", "sctp"):
                    raise InvalidArgument(f"--change {change!r}: invalid port {p!r}")
                ports[f"{int(port)}/{proto or 'tcp'}"] = {}
            out["ExposedPorts"] = ports
        elif keyword == "VOLUME":
            vols = dict(out.get("Volumes") or {})
            paths = _command(arg) if arg.startswith("[") else arg.split()
            if paths[:2] == ["/bin/sh", "-c"]:
                raise InvalidArgument(f"--change {change!r}: VOLUME wants a json list of paths")
            vols.update({p: {} for p in paths})
            out["Volumes"] = vols
        elif keyword == "USER":
            out["User"] = arg
        elif keyword == "WORKDIR":
            out["WorkingDir"] = arg if arg.startswith("/") else \
                (out.get("WorkingDir") or "/").rstrip("/") + "/" + arg
    return out
