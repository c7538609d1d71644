"""Build an OCI runtime ``config.json`` from a container's Config and HostConfig.

The result matches what dockerd 20.10 hands to runc for the same flags: Docker's
default mounts, capabilities, seccomp profile, masked and read-only paths, device
rules, resources and rlimits, and the per-container /etc/hostname, /etc/hosts and
/etc/resolv.conf bind mounts. Host lookups (device numbers, the user database inside
the image) come from the ``SpecInputs`` the caller fills, so most of this is pure.
"""

from __future__ import annotations

import os
import platform
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.engine.config import parse_security_opts
from dockyard.engine.model import Config, HostConfig
from dockyard.engine.users import ExecUser
from dockyard.errors import InvalidArgument
from dockyard.runtime.capabilities import NAMES as CAPABILITY_NAMES

__all__ = [
    "ALL_CAPABILITIES",
    "DEFAULT_PATH",
    "INIT_PATH",
    "SpecInputs",
    "bounding_set",
    "build_spec",
    "capabilities_for",
    "container_env",
    "device_rules",
    "host_device",
]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INIT_PATH = "/dev/init"  # where --init's reaper is bind-mounted (on the /dev tmpfs)
ALL_CAPABILITIES: list[str] = list(CAPABILITY_NAMES)  # index = capability number
# Device cgroup rules: docker's list, plus the pty ones runc always allows.
_DEFAULT_DEVICE_RULES: list[dict[str, Any]] = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
]


@dataclass
class SpecInputs:
    """Everything besides Config/HostConfig that goes into the spec."""

    container_id: str
    rootfs: Path
    user: ExecUser
    cgroups_path: str
    hostname_path: Path | None = None
    hosts_path: Path | None = None
    resolv_conf_path: Path | None = None
    init_path: Path | None = None
    netns_path: str | None = None
    cgroup_v2: bool = False
    arch: str = field(default_factory=platform.machine)
    poststop: list[dict[str, Any]] = field(default_factory=list)
    join: dict[str, str] = field(default_factory=dict)  # ns type -> path to join
    mounts: list[dict[str, Any]] = field(default_factory=list)  # volumes, binds, tmpfs
    rootfs_propagation: str = ""  # rslave/rshared when a bind mount asks for it


def container_env(config: Config) -> list[str]:
    """dockerd's ``CreateDaemonEnvironment``: PATH, HOSTNAME, TERM, then Config.Env."""
    env = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={config.get('Hostname', '')}"]
    if config.get("Tty"):
        env.append("TERM=xterm")
    for entry in config.get("Env") or []:
        key = entry.split("=", 1)[0]
        for i, old in enumerate(env):
            if old.split("=", 1)[0] == key:
                env[i] = entry
                break
        else:
            env.append(entry)
    return env


def _normalise_cap(name: str) -> str:
    upper = name.upper()
    if upper == "ALL":
        return upper
    full = upper if upper.startswith("CAP_") else "CAP_" + upper
    if full not in ALL_CAPABILITIES:
        raise InvalidArgument(f'unknown capability: "{full}"')
    return full


def bounding_set() -> list[str]:
    """The capabilities this process may hand on (its bounding set).

    Some hosts withhold capabilities even from root (here: CAP_SYS_RESOURCE), so "all
    capabilities" means all of these rather than every one the kernel knows.
    """
    try:
        with open("/proc/self/status") as f:
            line = next(ln for ln in f if ln.startswith("CapBnd:"))
        mask = int(line.split()[1], 16)
    except (OSError, StopIteration, ValueError):
        return list(ALL_CAPABILITIES)
    return [c for i, c in enumerate(ALL_CAPABILITIES) if mask >> i & 1]


def capabilities_for(hc: HostConfig, bounding: list[str] | None = None) -> list[str]:
    """moby's ``TweakCapabilities``: defaults, then --cap-drop, then --cap-add."""
    from dockyard.oci.docker_defaults import DEFAULT_CAPABILITIES

    allowed = bounding_set() if bounding is None else bounding
    if hc.get("Privileged"):
        return list(allowed)
    adds = [_normalise_cap(c) for c in hc.get("CapAdd") or []]
    drops = [_normalise_cap(c) for c in hc.get("CapDrop") or []]
    for c in adds:
        if c != "ALL" and c not in allowed:
            raise InvalidArgument(f"capability {c} is not in this engine's bounding set, "
                                  "so no container can be given it")
    if "ALL" in adds:
        caps = [c for c in allowed if c not in drops]
    elif "ALL" in drops:
        caps = adds
    else:
        caps = [c for c in DEFAULT_CAPABILITIES if c not in drops] + adds
    out: list[str] = []
    for c in caps:
        if c not in out:
            out.append(c)
    return out


def host_device(path: str) -> tuple[str, int, int, int]:
    """(type "c"/"b", major, minor, mode) of a host device node."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise InvalidArgument(f"error gathering device information while adding custom "
                              f"device \"{path}\": {(err.strerror or '').lower()}")
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise InvalidArgument(f"error gathering device information while adding custom "
                              f"device \"{path}\": not a device node")
    return kind, os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode)


def device_rules(hc: HostConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, linux.resources.devices) for --device and --privileged."""
    if hc.get("Privileged"):
        return _all_host_devices(), [{"allow": True, "access": "rwm"}]
    devices: list[dict[str, Any]] = []
    rules = [dict(r) for r in _DEFAULT_DEVICE_RULES]
    for dev in hc.get("Devices") or []:
        src = dev.get("PathOnHost", "")
        dst = dev.get("PathInContainer") or src
        perms = dev.get("CgroupPermissions") or "rwm"
        if not perms or set(perms) - set("rwm"):
            raise InvalidArgument(f"invalid device mode: {perms}")
        if not dst.startswith("/"):
            raise InvalidArgument(f"invalid device path in container: {dst}")
        kind, major, minor, mode = host_device(src)
        devices.append({"path": dst, "type": kind, "major": major, "minor": minor,
                        "fileMode": mode, "uid": 0, "gid": 0})
        rules.append({"allow": True, "type": kind, "major": major, "minor": minor,
                      "access": perms})
    return devices, rules


def _all_host_devices() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for dirpath, dirnames, filenames in os.walk("/dev"):
        dirnames[:] = [d for d in dirnames if d not in ("pts", "shm", "mqueue", "fd")]
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if path == "/dev/console" or not (stat.S_ISCHR(st.st_mode) or
                                              stat.S_ISBLK(st.st_mode)):
                continue
            out.append({"path": path, "type": "c" if stat.S_ISCHR(st.st_mode) else "b",
                        "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                        "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
                        "gid": st.st_gid})
    return out


def _throttle(entries: list[dict[str, Any]] | None, what: str,
              require_block: bool) -> list[dict[str, Any]]:
    out = []
    for e in entries or []:
        kind, major, minor, _ = host_device(str(e.get("Path", "")))
        if require_block and kind != "b":
            raise InvalidArgument(f"{what}: {e.get('Path')} is not a block device")
        out.append({"major": major, "minor": minor, "rate": int(e.get("Rate", 0))})
    return out


def resources(hc: HostConfig, require_block: bool = False) -> dict[str, Any]:
    """``linux.resources`` (without devices) from HostConfig. Throttles name block
    devices; docker accepts any device node at create and fails at start, so the
    check is only made when ``require_block`` (at start)."""
    memory: dict[str, Any] = {}
    if hc.get("Memory"):
        memory["limit"] = hc["Memory"]
    if hc.get("MemoryReservation"):
        memory["reservation"] = hc["MemoryReservation"]
    if hc.get("MemorySwap"):
        memory["swap"] = hc["MemorySwap"]
    if hc.get("MemorySwappiness") not in (None, -1):
        memory["swappiness"] = hc["MemorySwappiness"]
    memory["disableOOMKiller"] = bool(hc.get("OomKillDisable"))
    cpu: dict[str, Any] = {}
    if hc.get("CpuShares"):
        cpu["shares"] = hc["CpuShares"]
    if hc.get("NanoCpus"):
        cpu["period"] = 100000
        cpu["quota"] = int(hc["NanoCpus"]) * 100000 // 10**9
    else:
        if hc.get("CpuPeriod"):
            cpu["period"] = hc["CpuPeriod"]
        if hc.get("CpuQuota"):
            cpu["quota"] = hc["CpuQuota"]
    for key, oci in (("CpusetCpus", "cpus"), ("CpusetMems", "mems"),
                     ("CpuRealtimePeriod", "realtimePeriod"),
                     ("CpuRealtimeRuntime", "realtimeRuntime")):
        if hc.get(key):
            cpu[oci] = hc[key]  # type: ignore[literal-required]
    out: dict[str, Any] = {"memory": memory}
    if cpu:
        out["cpu"] = cpu
    if hc.get("PidsLimit"):
        out["pids"] = {"limit": hc["PidsLimit"]}
    blkio: dict[str, Any] = {}
    if hc.get("BlkioWeight"):
        blkio["weight"] = hc["BlkioWeight"]
    for key, oci in (("BlkioDeviceReadBps", "throttleReadBpsDevice"),
                     ("BlkioDeviceWriteBps", "throttleWriteBpsDevice"),
                     ("BlkioDeviceReadIOps", "throttleReadIOPSDevice"),
                     ("BlkioDeviceWriteIOps", "throttleWriteIOPSDevice")):
        if hc.get(key):
            blkio[oci] = _throttle(hc.get(key), key, require_block)  # type: ignore[arg-type]
    if blkio:
        out["blockIO"] = blkio
    return out


def _mounts(hc: HostConfig, inputs: SpecInputs) -> list[dict[str, Any]]:
    privileged = bool(hc.get("Privileged"))
    ro_sys = [] if privileged else ["ro"]
    shm = hc.get("ShmSize") or 64 * 1024 * 1024
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                     "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", *ro_sys]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": [*ro_sys, "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm}"]},
    ]
    bind_opts = ["rbind", "rprivate"] + (["ro"] if hc.get("ReadonlyRootfs") else [])
    for dest, src in (("/etc/resolv.conf", inputs.resolv_conf_path),
                      ("/etc/hostname", inputs.hostname_path),
                      ("/etc/hosts", inputs.hosts_path)):
        if src is not None:
            mounts.append({"destination": dest, "type": "bind", "source": str(src),
                           "options": list(bind_opts)})
    if hc.get("Init") and inputs.init_path is not None:
        mounts.append({"destination": INIT_PATH, "type": "bind",
                       "source": str(inputs.init_path), "options": ["bind", "ro"]})
    if inputs.mounts:  # the user's mounts replace defaults at the same destination
        taken = {m["destination"] for m in inputs.mounts}
        mounts = [m for m in mounts if m["destination"] not in taken] + inputs.mounts
    return mounts


def _namespaces(hc: HostConfig, inputs: SpecInputs) -> list[dict[str, Any]]:
    """mount, then network, uts, pid, ipc (each private, the host's, or joined), cgroup."""
    ns: list[dict[str, Any]] = [{"type": "mount"}]
    modes = {"network": hc.get("NetworkMode") or "default", "uts": hc.get("UTSMode") or "",
             "pid": hc.get("PidMode") or "", "ipc": hc.get("IpcMode") or ""}
    for kind, mode in modes.items():
        if mode == "host":
            continue
        entry: dict[str, Any] = {"type": kind}
        path = inputs.join.get(kind) or (inputs.netns_path if kind == "network" else None)
        if path:
            entry["path"] = path
        ns.append(entry)
    if hc.get("CgroupnsMode") == "private":
        ns.append({"type": "cgroup"})
    return ns


def _process(config: Config, hc: HostConfig, inputs: SpecInputs,
             caps: list[str]) -> dict[str, Any]:
    entry = list(config.get("Entrypoint") or [])
    args = entry + list(config.get("Cmd") or [])
    if hc.get("Init"):
        args = [INIT_PATH, "--", *args]
    security = parse_security_opts(hc.get("SecurityOpt"))
    proc: dict[str, Any] = {
        "user": {"uid": inputs.user.uid, "gid": inputs.user.gid,
                 "additionalGids": list(inputs.user.additional_gids)},
        "args": args,
        "env": container_env(config),
        "cwd": config.get("WorkingDir") or "/",
        # A non-root user starts with no effective or permitted capabilities (docker
        # 20.10.14+, CVE-2022-24769); root gets the set in all three.
        "capabilities": {"bounding": list(caps), "effective": list(caps),
                         "permitted": list(caps)} if inputs.user.uid == 0 else
        {"bounding": list(caps)},
        "oomScoreAdj": int(hc.get("OomScoreAdj") or 0),
    }
    if config.get("Tty"):
        proc["terminal"] = True
        height, width = ([*list(hc.get("ConsoleSize") or [0, 0]), 0, 0])[:2]
        if height and width:
            proc["consoleSize"] = {"height": height, "width": width}
    rlimits = [{"type": "RLIMIT_" + str(u["Name"]).upper(), "hard": int(u["Hard"]),
                "soft": int(u["Soft"])} for u in hc.get("Ulimits") or []]
    if rlimits:
        proc["rlimits"] = rlimits
    if security.no_new_privileges:
        proc["noNewPrivileges"] = True
    return proc


def _seccomp(hc: HostConfig, caps: list[str], arch: str) -> dict[str, Any] | None:
    from dockyard.engine.seccomp import from_docker_profile
    from dockyard.oci.docker_defaults import default_seccomp_profile

    if hc.get("Privileged"):
        return None
    profile = parse_security_opts(hc.get("SecurityOpt")).seccomp
    if profile == "unconfined":
        return None
    if profile:
        return from_docker_profile(profile, caps, arch)
    return default_seccomp_profile(caps, arch)


def build_spec(config: Config, hc: HostConfig, inputs: SpecInputs) -> dict[str, Any]:
    """The OCI runtime spec for a container (the bundle's config.json)."""
    caps = capabilities_for(hc)
    devices, device_cgroup = device_rules(hc)
    res = resources(hc, require_block=True)
    res["devices"] = device_cgroup
    linux: dict[str, Any] = {}
    net_mode = hc.get("NetworkMode") or "default"
    if net_mode != "host" and not net_mode.startswith("container:"):
        linux["sysctl"] = {"net.ipv4.ip_unprivileged_port_start": "0",
                           "net.ipv4.ping_group_range": "0 2147483647"}
    linux["sysctl"] = {**linux.get("sysctl", {}), **(hc.get("Sysctls") or {})}
    if not linux["sysctl"]:
        del linux["sysctl"]
    linux["resources"] = res
    linux["cgroupsPath"] = inputs.cgroups_path
    linux["namespaces"] = _namespaces(hc, inputs)
    if inputs.rootfs_propagation:
        linux["rootfsPropagation"] = inputs.rootfs_propagation
    if devices:
        linux["devices"] = devices
    if hc.get("MaskedPaths"):
        linux["maskedPaths"] = list(hc.get("MaskedPaths") or [])
    if hc.get("ReadonlyPaths"):
        linux["readonlyPaths"] = list(hc.get("ReadonlyPaths") or [])
    seccomp = _seccomp(hc, caps, inputs.arch)
    if seccomp is not None:
        linux["seccomp"] = seccomp
    out: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": _process(config, hc, inputs, caps),
        "root": {"path": str(inputs.rootfs), "readonly": bool(hc.get("ReadonlyRootfs"))},
        "hostname": config.get("Hostname") or inputs.container_id[:12],
        "mounts": _mounts(hc, inputs),
        "linux": linux,
    }
    if hc.get("UTSMode") == "host":
        del out["hostname"]  # the host's own; no UTS namespace to name
    if inputs.poststop:
        out["hooks"] = {"poststop": list(inputs.poststop)}
    return out
