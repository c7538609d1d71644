"""Combine a container's Config with its image's, and check and adapt HostConfig.

This is what dockerd does between receiving ``POST /containers/create`` and storing the
container: merge the image's defaults (ENTRYPOINT, CMD, ENV, WORKDIR, USER, STOPSIGNAL,
labels) exactly like moby's ``merge``, refuse bad resource values with Docker's own
messages, and fill the daemon defaults (ShmSize, IpcMode, CgroupnsMode, masked paths).
Pure logic: the host facts it needs come in as a :class:`HostFacts`.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from typing import Any

from dockyard.engine import model
from dockyard.engine.model import Config, HostConfig
from dockyard.errors import InvalidArgument

__all__ = [
    "MAX_NAME",
    "MIN_MEMORY",
    "HostFacts",
    "adapt_host_config",
    "check_name",
    "entrypoint_and_args",
    "merge_image_config",
    "parse_cpuset",
    "parse_security_opts",
]

MIN_MEMORY = 6 * 1024 * 1024  # docker's linuxMinMemory
MAX_NAME = 200
_NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
NETWORK_MODES = ("default", "bridge", "none", "host")
_NETWORK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


@dataclass(frozen=True)
class HostFacts:
    """What the host supports; read once per engine (see :func:`HostFacts.probe`)."""

    ncpu: int = 1
    cgroup_v2: bool = False
    blkio_weight: bool = False
    hard_rlimits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def probe(cls) -> HostFacts:
        import resource

        limits: dict[str, int] = {}
        for name in _RLIMIT_NAMES:
            const = getattr(resource, "RLIMIT_" + name.upper(), None)
            if const is not None:
                limits[name] = resource.getrlimit(const)[1]
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        weight = (os.path.exists("/sys/fs/cgroup/io.weight") or
                  os.path.exists("/sys/fs/cgroup/io.bfq.weight")) if v2 else (
            os.path.exists("/sys/fs/cgroup/blkio/blkio.weight") or
            os.path.exists("/sys/fs/cgroup/blkio/blkio.bfq.weight"))
        return cls(ncpu=os.cpu_count() or 1, cgroup_v2=v2, blkio_weight=weight,
                   hard_rlimits=limits)


# Docker's ulimit names (go-units) and what they are called in an OCI spec.
_RLIMIT_NAMES = ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                 "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack", "as"]


def check_name(name: str) -> str:
    """Docker's container-name rule; returns the name without a leading slash."""
    if not _NAME_RE.match(name):
        raise InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    if len(name.lstrip("/")) > MAX_NAME:  # a file name on disk (the name link)
        raise InvalidArgument(f"Invalid container name ({name[:40]}...): longer than "
                              f"{MAX_NAME} characters")
    return name.lstrip("/")


def _env_key(entry: str) -> str:
    return entry.split("=", 1)[0]


def merge_image_config(config: Config, image: dict[str, Any] | None) -> Config:
    """moby's ``merge`` + ``mergeAndVerifyConfig``: image defaults under user values."""
    out: Config = copy.deepcopy(config)
    img: dict[str, Any] = image or {}
    if not out.get("User"):
        out["User"] = img.get("User") or ""
    if img.get("ExposedPorts"):
        ports = dict(img["ExposedPorts"])
        ports.update(out.get("ExposedPorts") or {})
        out["ExposedPorts"] = ports
    user_env = list(out.get("Env") or [])
    if not user_env:
        out["Env"] = list(img["Env"]) if img.get("Env") else out.get("Env")
    else:
        keys = {_env_key(e) for e in user_env}
        out["Env"] = user_env + [e for e in img.get("Env") or [] if _env_key(e) not in keys]
    labels = dict(out.get("Labels") or {})
    for key, value in (img.get("Labels") or {}).items():
        labels.setdefault(key, value)
    out["Labels"] = labels
    if not out.get("Entrypoint"):
        if not out.get("Cmd"):
            out["Cmd"] = list(img["Cmd"]) if img.get("Cmd") else out.get("Cmd")
        if out.get("Entrypoint") is None:
            out["Entrypoint"] = list(img["Entrypoint"]) if img.get("Entrypoint") else None
    if not out.get("WorkingDir"):
        out["WorkingDir"] = img.get("WorkingDir") or ""
    if img.get("Volumes"):
        vols = dict(img["Volumes"])
        vols.update(out.get("Volumes") or {})
        out["Volumes"] = vols
    if not out.get("StopSignal") and img.get("StopSignal"):
        out["StopSignal"] = img["StopSignal"]
    if out.get("Healthcheck") or img.get("Healthcheck"):
        from dockyard.engine.health import merge_healthcheck

        merged_hc = merge_healthcheck(out.get("Healthcheck"), img.get("Healthcheck"))
        if merged_hc is not None:
            out["Healthcheck"] = merged_hc
    if out.get("Entrypoint") == [""]:  # `--entrypoint ""` resets the image's entrypoint
        out["Entrypoint"] = None
    if not out.get("Entrypoint") and not out.get("Cmd"):
        raise InvalidArgument("No command specified")
    return out


def entrypoint_and_args(config: Config) -> tuple[str, list[str]]:
    """Docker's Path and Args: the entrypoint's head, then the rest plus Cmd."""
    entry = list(config.get("Entrypoint") or [])
    cmd = list(config.get("Cmd") or [])
    full = entry + cmd
    if not full:
        raise InvalidArgument("No command specified")
    return full[0], full[1:]


def parse_cpuset(spec: str, what: str = "cpus") -> set[int]:
    """``0-2,5`` → {0,1,2,5}; docker's message on bad syntax."""
    out: set[int] = set()
    if spec == "":
        return out
    for part in spec.split(","):
        lo, sep, hi = part.partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise InvalidArgument(f"Invalid value {spec} for cpuset {what}")
        if a < 0 or b < a:
            raise InvalidArgument(f"Invalid value {spec} for cpuset {what}")
        out.update(range(a, b + 1))
    return out


@dataclass
class SecurityOpts:
    """What ``--security-opt`` asked for."""

    no_new_privileges: bool = False
    seccomp: str = ""  # "" default profile, "unconfined", or a JSON profile
    apparmor: str = ""
    labels: list[str] = field(default_factory=list)


def parse_security_opts(opts: list[str] | None) -> SecurityOpts:
    """moby's ``parseSecurityOpt`` rules; a file path for seccomp is read here."""
    out = SecurityOpts()
    for opt in opts or []:
        if opt == "no-new-privileges":
            out.no_new_privileges = True
            continue
        if opt == "disable":
            out.labels.append("disable")
            continue
        sep = "=" if "=" in opt else ":" if ":" in opt else ""
        if not sep:
            raise InvalidArgument(f"invalid --security-opt 1: {opt!r}")
        key, value = opt.split(sep, 1)
        if key == "label":
            out.labels.append(value)
        elif key == "apparmor":
            out.apparmor = value
        elif key == "seccomp":
            out.seccomp = _seccomp_value(value)
        elif key == "no-new-privileges":
            if value.lower() not in ("1", "t", "true", "0", "f", "false"):
                raise InvalidArgument(f"invalid --security-opt 2: {opt!r}")
            out.no_new_privileges = value.lower() in ("1", "t", "true")
        else:
            raise InvalidArgument(f"invalid --security-opt 2: {opt!r}")
    return out


def _seccomp_value(value: str) -> str:
    import json

    if value in ("unconfined", "") or value.lstrip().startswith("{"):
        text = value
    else:  # the docker CLI reads the file; accept a path here too
        try:
            with open(value) as f:
                text = f.read()
        except OSError as err:
            raise InvalidArgument(f"opening seccomp profile ({value}) failed: {err.strerror}")
    if text.lstrip().startswith("{"):
        try:
            json.loads(text)
        except ValueError as err:
            raise InvalidArgument(f"decoding seccomp profile failed: {err}")
    return text


def _check_rates(hc: HostConfig) -> None:
    """``EgressRate``/``IngressRate`` (bits/s, Dockyard's own) shape the container's
    veth, so they need one: not with ``--network host|none|container:``."""
    rates = {k: hc.get(k) for k in ("EgressRate", "IngressRate") if hc.get(k)}
    if not rates:
        return
    from dockyard.network.shaping import MAX_RATE

    for key, value in rates.items():
        if not isinstance(value, int) or not 0 <= value <= MAX_RATE:
            raise InvalidArgument(f"invalid {key}: {value!r} (bits per second, "
                                  f"0 to {MAX_RATE})")
    mode = str(hc.get("NetworkMode") or "")
    if mode in ("host", "none") or mode.startswith("container:"):
        raise InvalidArgument("--egress-rate and --ingress-rate need the container's own "
                              "network (not host, none or container:)")


def adapt_host_config(hc: HostConfig, facts: HostFacts) -> tuple[HostConfig, list[str]]:
    """Validate resources like dockerd and fill its defaults; returns (config, warnings)."""
    out: HostConfig = model.complete_host_config(hc)
    warnings: list[str] = []
    _check_memory(out, facts, warnings)
    _check_cpu(out, facts)
    _check_blkio(out, facts, warnings)
    _check_ulimits(out, facts)
    parse_security_opts(out.get("SecurityOpt"))
    _check_namespace_modes(out)
    _check_rates(out)
    oom = out.get("OomScoreAdj") or 0
    if not -1000 <= oom <= 1000:
        raise InvalidArgument(f"Invalid value {oom}, range for oom score adj is [-1000, 1000]")
    restart = (out.get("RestartPolicy") or {}).get("Name") or "no"
    if restart not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy '{restart}'")
    if out.get("AutoRemove") and restart != "no":
        raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
    if (out.get("PidsLimit") or 0) <= 0:  # 0 and -1 both mean unlimited
        out["PidsLimit"] = None
    opts = list(out.get("SecurityOpt") or [])
    sharing = out.get("IpcMode") == "host" or out.get("PidMode") == "host"
    if (out.get("Privileged") or sharing) and not any(o.startswith("label") for o in opts):
        out["SecurityOpt"] = [*opts, "label=disable"]  # dockerd's generateSecurityOpt
    log = dict(out.get("LogConfig") or {})
    out["LogConfig"] = {"Type": log.get("Type") or "json-file", "Config": log.get("Config") or {}}
    if not out.get("ShmSize"):
        out["ShmSize"] = model.DEFAULT_SHM_SIZE
    elif (out.get("ShmSize") or 0) < 0:
        raise InvalidArgument("SHM size can not be less than 0")
    if not out.get("IpcMode"):
        out["IpcMode"] = "private"
    if not out.get("CgroupnsMode"):
        out["CgroupnsMode"] = "private" if facts.cgroup_v2 else "host"
    if out.get("OomKillDisable") is None:
        out["OomKillDisable"] = False
    if out.get("Privileged"):
        out["MaskedPaths"] = out.get("MaskedPaths") or None
        out["ReadonlyPaths"] = out.get("ReadonlyPaths") or None
    else:
        if out.get("MaskedPaths") is None:
            out["MaskedPaths"] = list(model.DEFAULT_MASKED_PATHS)
        if out.get("ReadonlyPaths") is None:
            out["ReadonlyPaths"] = list(model.DEFAULT_READONLY_PATHS)
    return out, warnings


def _check_namespace_modes(hc: HostConfig) -> None:
    """NetworkMode, IpcMode, PidMode, UTSMode: docker's accepted values."""
    mode = hc.get("NetworkMode") or "default"
    if mode not in NETWORK_MODES and not _joins(mode) and not _NETWORK_NAME.match(mode):
        raise InvalidArgument(f"network {mode} not found")  # names: engine/networking
    ipc = hc.get("IpcMode") or ""
    if ipc not in ("", "private", "shareable", "none", "host") and not _joins(ipc):
        raise InvalidArgument(f"invalid IPC mode: {ipc}")
    pid = hc.get("PidMode") or ""
    if pid not in ("", "host") and not _joins(pid):
        raise InvalidArgument(f"invalid PID mode: {pid}")
    uts = hc.get("UTSMode") or ""
    if uts not in ("", "host"):
        raise InvalidArgument(f"invalid UTS mode: {uts}")


def _joins(mode: str) -> bool:
    """``container:<name or id>``: share that running container's namespace."""
    return mode.startswith("container:") and len(mode) > len("container:")


def _check_memory(hc: HostConfig, facts: HostFacts, warnings: list[str]) -> None:
    memory = hc.get("Memory") or 0
    swap = hc.get("MemorySwap") or 0
    reservation = hc.get("MemoryReservation") or 0
    if memory < 0:
        raise InvalidArgument("invalid memory limit: must not be negative")
    if 0 < memory < MIN_MEMORY:
        raise InvalidArgument("Minimum memory limit allowed is 6MB")
    if memory > 0 and swap > 0 and swap < memory:
        raise InvalidArgument(
            "Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory == 0 and swap > 0:
        raise InvalidArgument(
            "You should always set the Memory limit when using Memoryswap limit, see usage")
    swappiness = hc.get("MemorySwappiness")
    if swappiness is not None and swappiness != -1 and not 0 <= swappiness <= 100:
        raise InvalidArgument(
            f"Invalid value: {swappiness}, valid memory swappiness range is 0-100")
    if 0 < reservation < MIN_MEMORY:
        raise InvalidArgument("Minimum memory reservation allowed is 6MB")
    if memory > 0 and reservation > 0 and memory < reservation:
        raise InvalidArgument(
            "Minimum memory limit can not be less than memory reservation limit, see usage")
    if memory > 0 and swap == 0:
        hc["MemorySwap"] = memory * 2  # dockerd's default: swap as large as the limit
    if hc.get("OomKillDisable"):
        if facts.cgroup_v2:
            warnings.append("Your kernel does not support OomKillDisable. "
                            "OomKillDisable discarded.")
            hc["OomKillDisable"] = False
        elif memory == 0:
            warnings.append("OOM killer is disabled for the container, but no memory limit "
                            "is set, this can result in the system running out of resources.")


def _check_cpu(hc: HostConfig, facts: HostFacts) -> None:
    nano = hc.get("NanoCpus") or 0
    period = hc.get("CpuPeriod") or 0
    quota = hc.get("CpuQuota") or 0
    if nano > 0 and period > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if nano > 0 and quota > 0:
        raise InvalidArgument("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if nano < 0 or nano > facts.ncpu * 10**9:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {facts.ncpu}.00, as there are "
                              f"only {facts.ncpu} CPUs available")
    if period and not 1000 <= period <= 1000000:
        raise InvalidArgument("CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                              "than 1s (i.e. 1000000)")
    if 0 < quota < 1000:
        raise InvalidArgument("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if (hc.get("CpuShares") or 0) < 0:
        raise InvalidArgument("invalid cpu shares: must not be negative")
    for key, what in (("CpusetCpus", "cpus"), ("CpusetMems", "mems")):
        spec = str(hc.get(key) or "")
        wanted = parse_cpuset(spec, what)
        if what == "cpus" and wanted and max(wanted) >= facts.ncpu:
            raise InvalidArgument(f"Requested CPUs are not available - requested {spec}, "
                                  f"available: 0-{facts.ncpu - 1}")


def _check_blkio(hc: HostConfig, facts: HostFacts, warnings: list[str]) -> None:
    weight = hc.get("BlkioWeight") or 0
    if weight and not 10 <= weight <= 1000:
        raise InvalidArgument("Range of blkio weight is from 10 to 1000")
    if weight and not facts.blkio_weight:
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not "
                        "mounted. Weight discarded.")
        hc["BlkioWeight"] = 0
    for key in ("BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
                "BlkioDeviceWriteIOps"):
        for entry in hc.get(key) or []:  # type: ignore[attr-defined]
            if not str(entry.get("Path", "")).startswith("/"):
                raise InvalidArgument(f"{key}: {entry.get('Path')!r} is not an absolute path")
            if int(entry.get("Rate", -1)) < 0:
                raise InvalidArgument(f"{key}: rate for {entry['Path']} must not be negative")


def _check_ulimits(hc: HostConfig, facts: HostFacts) -> None:
    for u in hc.get("Ulimits") or []:
        name = str(u.get("Name", ""))
        if name not in _RLIMIT_NAMES:
            raise InvalidArgument(f"invalid ulimit type: {name}")
        soft, hard = int(u.get("Soft", 0)), int(u.get("Hard", 0))
        if soft > hard:
            raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard "
                                  f"limit: {soft} > {hard}")
        cap = facts.hard_rlimits.get(name)
        if cap is not None and cap >= 0 and hard > cap:
            raise InvalidArgument(f"ulimit {name}: hard limit {hard} is above this engine's "
                                  f"hard limit {cap} (raising it needs CAP_SYS_RESOURCE)")
