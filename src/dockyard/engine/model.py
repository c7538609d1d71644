"""Containers in the Docker Engine API's shape (API 1.41, docker 20.10).

``cli/`` builds ``Config`` and ``HostConfig`` from flags, ``api/`` takes them from request
bodies; the engine completes them with Docker's daemon defaults (:func:`complete_config`,
:func:`complete_host_config`) so that ``inspect`` prints every key docker 20.10 prints, in
docker's order. Keys docker omits when empty (``omitempty`` in moby's types) are only
present when set. Plain JSON-ready dicts; standard library only.
"""

from __future__ import annotations

import copy
from typing import Any, Literal, TypedDict

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_MASKED_PATHS",
    "DEFAULT_READONLY_PATHS",
    "DEFAULT_SHM_SIZE",
    "HOST_CONFIG_KEYS",
    "ZERO_TIME",
    "Config",
    "ContainerJSON",
    "CreateResult",
    "HostConfig",
    "State",
    "Status",
    "complete_config",
    "complete_host_config",
    "network_settings",
    "new_state",
]

Status = Literal["created", "running", "paused", "restarting", "removing", "exited", "dead"]

# Docker prints Go's zero time for "never".
ZERO_TIME = "0001-01-01T00:00:00Z"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024

# Docker 20.10's daemon fills these into HostConfig for unprivileged containers; the
# runtime data itself (what the kernel sees) lives in oci/docker_defaults.py.
DEFAULT_MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",
]
DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger"]


class Config(TypedDict, total=False):
    """``Config`` of create/inspect: what runs, independent of the host."""

    Hostname: str
    Domainname: str
    User: str
    AttachStdin: bool
    AttachStdout: bool
    AttachStderr: bool
    ExposedPorts: dict[str, dict[str, Any]]
    Tty: bool
    OpenStdin: bool
    StdinOnce: bool
    Env: list[str] | None
    Cmd: list[str] | None
    Healthcheck: dict[str, Any]
    ArgsEscaped: bool
    Image: str
    Volumes: dict[str, dict[str, Any]] | None
    WorkingDir: str
    Entrypoint: list[str] | None
    NetworkDisabled: bool
    MacAddress: str
    OnBuild: list[str] | None
    Labels: dict[str, str] | None
    StopSignal: str
    StopTimeout: int
    Shell: list[str]


class HostConfig(TypedDict, total=False):
    """``HostConfig``: how the host runs it (resources, security, namespaces)."""

    Binds: list[str] | None
    ContainerIDFile: str
    LogConfig: dict[str, Any]
    NetworkMode: str
    PortBindings: dict[str, Any] | None
    RestartPolicy: dict[str, Any]
    AutoRemove: bool
    VolumeDriver: str
    VolumesFrom: list[str] | None
    CapAdd: list[str] | None
    CapDrop: list[str] | None
    CgroupnsMode: str
    Dns: list[str] | None
    DnsOptions: list[str] | None
    DnsSearch: list[str] | None
    ExtraHosts: list[str] | None
    GroupAdd: list[str] | None
    IpcMode: str
    Cgroup: str
    Links: list[str] | None
    OomScoreAdj: int
    PidMode: str
    Privileged: bool
    PublishAllPorts: bool
    ReadonlyRootfs: bool
    SecurityOpt: list[str] | None
    StorageOpt: dict[str, str]
    Tmpfs: dict[str, str]
    UTSMode: str
    UsernsMode: str
    ShmSize: int
    Sysctls: dict[str, str]
    Runtime: str
    ConsoleSize: list[int]
    Isolation: str
    CpuShares: int
    Memory: int
    NanoCpus: int
    CgroupParent: str
    BlkioWeight: int
    BlkioWeightDevice: list[dict[str, Any]] | None
    BlkioDeviceReadBps: list[dict[str, Any]] | None
    BlkioDeviceWriteBps: list[dict[str, Any]] | None
    BlkioDeviceReadIOps: list[dict[str, Any]] | None
    BlkioDeviceWriteIOps: list[dict[str, Any]] | None
    CpuPeriod: int
    CpuQuota: int
    CpuRealtimePeriod: int
    CpuRealtimeRuntime: int
    CpusetCpus: str
    CpusetMems: str
    Devices: list[dict[str, str]] | None
    DeviceCgroupRules: list[str] | None
    DeviceRequests: list[dict[str, Any]] | None
    KernelMemory: int
    KernelMemoryTCP: int
    MemoryReservation: int
    MemorySwap: int
    MemorySwappiness: int | None
    OomKillDisable: bool | None
    PidsLimit: int | None
    Ulimits: list[dict[str, Any]] | None
    CpuCount: int
    CpuPercent: int
    IOMaximumIOps: int
    IOMaximumBandwidth: int
    Mounts: list[dict[str, Any]]
    MaskedPaths: list[str] | None
    ReadonlyPaths: list[str] | None
    Init: bool | None


class State(TypedDict):
    """``State`` of inspect."""

    Status: Status
    Running: bool
    Paused: bool
    Restarting: bool
    OOMKilled: bool
    Dead: bool
    Pid: int
    ExitCode: int
    Error: str
    StartedAt: str
    FinishedAt: str


class CreateResult(TypedDict):
    """What create returns (``POST /containers/create``'s body)."""

    Id: str
    Warnings: list[str]


ContainerJSON = dict[str, Any]
"""The full inspect document (``GET /containers/<id>/json``)."""

# (key, default) in docker 20.10's order; None as default with omit=True means omitempty.
_CONFIG_FIELDS: list[tuple[str, Any, bool]] = [
    ("Hostname", "", False), ("Domainname", "", False), ("User", "", False),
    ("AttachStdin", False, False), ("AttachStdout", False, False),
    ("AttachStderr", False, False), ("ExposedPorts", None, True), ("Tty", False, False),
    ("OpenStdin", False, False), ("StdinOnce", False, False), ("Env", None, False),
    ("Cmd", None, False), ("Healthcheck", None, True), ("ArgsEscaped", None, True),
    ("Image", "", False), ("Volumes", None, False), ("WorkingDir", "", False),
    ("Entrypoint", None, False), ("NetworkDisabled", None, True),
    ("MacAddress", None, True), ("OnBuild", None, False), ("Labels", None, False),
    ("StopSignal", None, True), ("StopTimeout", None, True), ("Shell", None, True),
]
CONFIG_KEYS = [k for k, _, _ in _CONFIG_FIELDS]

_HOST_CONFIG_FIELDS: list[tuple[str, Any, bool]] = [
    ("Binds", None, False), ("ContainerIDFile", "", False),
    ("LogConfig", {"Type": "json-file", "Config": {}}, False),
    ("NetworkMode", "default", False), ("PortBindings", {}, False),
    ("RestartPolicy", {"Name": "no", "MaximumRetryCount": 0}, False),
    ("AutoRemove", False, False), ("VolumeDriver", "", False), ("VolumesFrom", None, False),
    ("CapAdd", None, False), ("CapDrop", None, False), ("CgroupnsMode", "", False),
    ("Dns", [], False), ("DnsOptions", [], False), ("DnsSearch", [], False),
    ("ExtraHosts", None, False), ("GroupAdd", None, False), ("IpcMode", "", False),
    ("Cgroup", "", False), ("Links", None, False), ("OomScoreAdj", 0, False),
    ("PidMode", "", False), ("Privileged", False, False), ("PublishAllPorts", False, False),
    ("ReadonlyRootfs", False, False), ("SecurityOpt", None, False),
    ("StorageOpt", None, True), ("Tmpfs", None, True), ("UTSMode", "", False),
    ("UsernsMode", "", False), ("ShmSize", 0, False), ("Sysctls", None, True),
    ("Runtime", "", False), ("ConsoleSize", [0, 0], False), ("Isolation", "", False),
    ("CpuShares", 0, False), ("Memory", 0, False), ("NanoCpus", 0, False),
    ("CgroupParent", "", False), ("BlkioWeight", 0, False),
    ("BlkioWeightDevice", [], False), ("BlkioDeviceReadBps", None, False),
    ("BlkioDeviceWriteBps", None, False), ("BlkioDeviceReadIOps", None, False),
    ("BlkioDeviceWriteIOps", None, False), ("CpuPeriod", 0, False), ("CpuQuota", 0, False),
    ("CpuRealtimePeriod", 0, False), ("CpuRealtimeRuntime", 0, False),
    ("CpusetCpus", "", False), ("CpusetMems", "", False), ("Devices", [], False),
    ("DeviceCgroupRules", None, False), ("DeviceRequests", None, False),
    ("KernelMemory", 0, False), ("KernelMemoryTCP", 0, False),
    ("MemoryReservation", 0, False), ("MemorySwap", 0, False),
    ("MemorySwappiness", None, False), ("OomKillDisable", False, False),
    ("PidsLimit", None, False), ("Ulimits", None, False), ("CpuCount", 0, False),
    ("CpuPercent", 0, False), ("IOMaximumIOps", 0, False),
    ("IOMaximumBandwidth", 0, False), ("Mounts", None, True),
    ("MaskedPaths", None, False), ("ReadonlyPaths", None, False), ("Init", None, True),
    # Dockyard's own (docker has no bandwidth limit): bits/s, shown only when set.
    ("EgressRate", None, True), ("IngressRate", None, True),
    ("HealthOnFailure", None, True),  # podman's --health-on-failure; not docker's
]
HOST_CONFIG_KEYS = [k for k, _, _ in _HOST_CONFIG_FIELDS]
# Go pointers with omitempty: present when set, even to false.
_POINTERS = frozenset({"Init", "StopTimeout"})


def _complete(given: dict[str, Any], fields: list[tuple[str, Any, bool]],
              what: str) -> dict[str, Any]:
    from dockyard.errors import InvalidArgument

    known = {k for k, _, _ in fields}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InvalidArgument(f"{what}: unknown field {unknown[0]!r}")
    out: dict[str, Any] = {}
    for key, default, omit in fields:
        empty: tuple[Any, ...] = (None,) if key in _POINTERS else (None, "", [], {}, False)
        if key in given and not (omit and given[key] in empty):
            out[key] = copy.deepcopy(given[key])
        elif not omit:
            out[key] = copy.deepcopy(default)
    return out


def complete_config(config: Config | dict[str, Any]) -> Config:
    """Every key docker prints for ``Config``, in its order; unknown keys are an error."""
    return _complete(dict(config), _CONFIG_FIELDS, "config")  # type: ignore[return-value]


def complete_host_config(host_config: HostConfig | dict[str, Any] | None) -> HostConfig:
    """Every key docker prints for ``HostConfig`` before the daemon's own adjustments."""
    out = _complete(dict(host_config or {}), _HOST_CONFIG_FIELDS, "hostconfig")
    return out  # type: ignore[return-value]


def new_state() -> State:
    """The state of a container that was created and never started."""
    return State(Status="created", Running=False, Paused=False, Restarting=False,
                 OOMKilled=False, Dead=False, Pid=0, ExitCode=0, Error="",
                 StartedAt=ZERO_TIME, FinishedAt=ZERO_TIME)


def network_settings(network_mode: str, sandbox_key: str = "") -> dict[str, Any]:
    """``NetworkSettings`` for the modes without an address (none, host)."""
    name = "default" if network_mode in ("", "default") else network_mode
    endpoint = {
        "IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": "",
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "MacAddress": "", "DriverOpts": None,
    }
    return {
        "Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0, "Ports": {}, "SandboxKey": sandbox_key,
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None, "EndpointID": "",
        "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "",
        "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
        "Networks": {name: endpoint},
    }
