"""How each instruction changes the image config and history, as BuildKit writes them.

:class:`ImageState` holds the OCI image config's ``config`` object (``Env``, ``Cmd``,
``Entrypoint``, ``WorkingDir``, ``User``, ``ExposedPorts``, ``Volumes``, ``Labels``,
``StopSignal``, ``Healthcheck``, ``Shell``, ``OnBuild``, ``ArgsEscaped``), the author and
the history entries. Instructions must already be expanded (:mod:`.args`).
"""

from __future__ import annotations

import posixpath
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument

from ._text import go_quote_list
from .instructions import (
    CmdInstruction,
    EntrypointInstruction,
    ExposeInstruction,
    HealthcheckInstruction,
    Instruction,
    KeyValue,
    LabelInstruction,
    MaintainerInstruction,
    OnbuildInstruction,
    ShellInstruction,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
)

__all__ = [
    "DEFAULT_SHELL",
    "ImageState",
    "go_duration",
    "normalize_workdir",
    "parse_ports",
    "with_shell",
]

DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass
class ImageState:
    """The image a stage is making: config, author and history so far."""

    config: dict[str, Any] = field(default_factory=dict)
    author: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    cmd_set: bool = False

    @classmethod
    def from_base(cls, config: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = (),
                  author: str = "") -> ImageState:
        """Start from a base image's config (its ``OnBuild`` triggers are consumed)."""
        cfg = {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
               for k, v in config.items()}
        cfg.pop("OnBuild", None)
        return cls(cfg, author, [dict(h) for h in history])

    def add_history(self, created_by: str, *, layer: bool) -> None:
        """Record a step; ``layer`` steps also get BuildKit's ``# buildkit`` mark."""
        entry: dict[str, Any] = {"created_by": created_by + (" # buildkit" if layer else ""),
                                 "comment": "buildkit.dockerfile.v0"}
        if not layer:
            entry["empty_layer"] = True
        self.history.append(entry)

    def set_env(self, pairs: Sequence[KeyValue]) -> None:
        """ENV: replace a key in place or append it (the config keeps ``K=V`` order)."""
        env: list[str] = list(self.config.get("Env") or [])
        for kv in pairs:
            item = f"{kv.key}={kv.value}"
            for i, old in enumerate(env):
                if old.partition("=")[0] == kv.key:
                    env[i] = item
                    break
            else:
                env.append(item)
        self.config["Env"] = env
        self.add_history("ENV " + " ".join(f"{kv.key}={kv.value}" for kv in pairs),
                         layer=False)

    def apply(self, inst: Instruction) -> None:
        """Apply a config-only instruction (not RUN, COPY, ADD, ARG or ENV)."""
        cfg = self.config
        if isinstance(inst, CmdInstruction):
            args = list(inst.cmd_line or [])
            if inst.prepend_shell:
                args = with_shell(cfg, args)
            cfg["Cmd"] = args
            cfg["ArgsEscaped"] = True
            self.cmd_set = True
            self.add_history(f"CMD {go_quote_list(args)}", layer=False)
        elif isinstance(inst, EntrypointInstruction):
            args_or_none = inst.cmd_line
            if inst.prepend_shell and args_or_none is not None:
                args_or_none = with_shell(cfg, args_or_none)
            cfg["Entrypoint"] = args_or_none
            if not self.cmd_set:
                cfg["Cmd"] = None
            self.add_history(f"ENTRYPOINT {go_quote_list(args_or_none or [])}", layer=False)
        elif isinstance(inst, LabelInstruction):
            labels = dict(cfg.get("Labels") or {})
            for kv in inst.labels:
                labels[kv.key] = kv.value
            cfg["Labels"] = labels
            self.add_history("LABEL " + " ".join(f"{kv.key}={kv.value}" for kv in inst.labels),
                             layer=False)
        elif isinstance(inst, MaintainerInstruction):
            self.author = inst.maintainer
            self.add_history(f"MAINTAINER {inst.maintainer}", layer=False)
        elif isinstance(inst, ExposeInstruction):
            ports = parse_ports(inst.ports)
            exposed = dict(cfg.get("ExposedPorts") or {})
            for port in ports:
                exposed[port] = {}
            cfg["ExposedPorts"] = exposed
            self.add_history(f"EXPOSE [{' '.join(ports)}]", layer=False)
        elif isinstance(inst, UserInstruction):
            cfg["User"] = inst.user
            self.add_history(f"USER {inst.user}", layer=False)
        elif isinstance(inst, WorkdirInstruction):
            cfg["WorkingDir"] = normalize_workdir(cfg.get("WorkingDir") or "", inst.path)
            self.add_history(f"WORKDIR {cfg['WorkingDir']}", layer=False)
        elif isinstance(inst, VolumeInstruction):
            volumes = dict(cfg.get("Volumes") or {})
            for v in inst.volumes:
                volumes[v] = {}
            cfg["Volumes"] = volumes
            self.add_history(f"VOLUME [{' '.join(inst.volumes)}]", layer=False)
        elif isinstance(inst, StopSignalInstruction):
            check_signal(inst.signal)
            cfg["StopSignal"] = inst.signal
            self.add_history(f"STOPSIGNAL {inst.signal}", layer=False)
        elif isinstance(inst, HealthcheckInstruction):
            cfg["Healthcheck"] = {"Test": list(inst.test), "Interval": inst.interval,
                                  "Timeout": inst.timeout, "StartPeriod": inst.start_period,
                                  "StartInterval": inst.start_interval, "Retries": inst.retries}
            self.add_history(
                f"HEALTHCHECK {{Test:[{' '.join(inst.test)}] Interval:{go_duration(inst.interval)}"
                f" Timeout:{go_duration(inst.timeout)}"
                f" StartPeriod:{go_duration(inst.start_period)}"
                f" StartInterval:{go_duration(inst.start_interval)} Retries:{inst.retries}}}",
                layer=False)
        elif isinstance(inst, ShellInstruction):
            cfg["Shell"] = list(inst.shell)
            self.add_history(f"SHELL [{' '.join(inst.shell)}]", layer=False)
        elif isinstance(inst, OnbuildInstruction):
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), inst.expression]
        else:
            raise InvalidArgument(f"{inst.name}: not a config instruction")


def with_shell(config: Mapping[str, Any], args: Sequence[str]) -> list[str]:
    """The shell form: the image's SHELL (default ``/bin/sh -c``) and the joined args."""
    shell = list(config.get("Shell") or DEFAULT_SHELL)
    return [*shell, " ".join(args)]


def normalize_workdir(current: str, new: str) -> str:
    """BuildKit's ``NormalizeWorkdir``: relative paths join the current one."""
    parent = current or "/"
    if not parent.startswith("/"):
        parent = posixpath.normpath("/" + parent)
    if not new:
        return parent
    if new.startswith("/"):
        return new
    joined = posixpath.normpath(posixpath.join(parent, new))
    return "/" + joined.lstrip("/")


def _port_number(text: str) -> int:
    if not text:
        raise ValueError("value is empty")
    if not text.lstrip("+-").isdigit() or not text.isascii():
        raise ValueError("invalid syntax")
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("value out of range (0-65535)")
    return value


def _port_range(text: str) -> tuple[int, int]:
    if not text:
        raise ValueError("empty string specified for ports")
    start, has_end, end = text.partition("-")
    low = _port_number(start)
    if not has_end or start == end:
        return low, low
    high = _port_number(end)
    if high < low:
        raise ValueError(f"invalid port range: {text}")
    return low, high


def parse_ports(ports: Sequence[str]) -> list[str]:
    """EXPOSE values (``80``, ``53/udp``, ``8000-8002``) as ``port/proto`` entries."""
    out: list[str] = []
    for raw in ports:
        container = raw.split(":")[-1]
        port, _, proto = container.partition("/")
        if not port:
            raise InvalidArgument(f'invalid port: "{raw}": no port specified')
        if proto.lower() not in ("", "tcp", "udp", "sctp"):
            raise InvalidArgument(f'invalid port: "{raw}": invalid proto: {proto}')
        try:
            low, high = _port_range(port)
        except ValueError:
            raise InvalidArgument(f"invalid containerPort: {port}") from None
        out += [f"{p}/{(proto or 'tcp').lower()}" for p in range(low, high + 1)]
    return out


def check_signal(text: str) -> None:
    """Accept what moby's ``signal.ParseSignal`` does: ``SIGKILL``, ``KILL``, ``9``."""
    if text.lstrip("+-").isdigit() and text.isascii():
        if int(text) != 0:
            return
        raise InvalidArgument(f"Invalid signal: {text}")
    name = text.upper().removeprefix("SIG")
    realtime = [f"RTMIN+{i}" for i in range(1, 16)] + [f"RTMAX-{i}" for i in range(1, 15)]
    if name in ("RTMIN", "RTMAX", *realtime) or "SIG" + name in signal.Signals.__members__:
        return
    raise InvalidArgument(f"Invalid signal: {text}")


def go_duration(ns: int) -> str:
    """Go's ``time.Duration.String``: ``0s``, ``1.5s``, ``2m0s``, ``300ms``."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    hours, rem = divmod(ns, 3_600_000_000_000)
    minutes, rem = divmod(rem, 60_000_000_000)
    seconds = _fraction(rem, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _fraction(value: int, size: int) -> str:
    whole, frac = divmod(value, size)
    if not frac:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"
