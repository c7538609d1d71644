"""``run``/``create`` flags → the Engine API's Config, HostConfig and NetworkingConfig.

This is what the docker CLI does before it calls ``POST /containers/create``: the
same flag names and short forms, the same parsing and messages, the same dict shape
(checked against the real docker client in ``tests/unit/cli/test_runflags_oracle.py``).
Storage flags (``--mount``, ``--tmpfs``) are read with ``dockyard.volumes.parse`` and
ports (``-p``, ``--expose``) with ``dockyard.network.ports``, each imported only when
its flags are given.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import click

from dockyard.cli import opts
from dockyard.cli.flagtypes import BYTES, INT, FlagError, Parsed
from dockyard.cli.units import parse_bytes
from dockyard.errors import InvalidArgument

__all__ = [
    "BYTES", "INT", "CreateRequest", "FlagError", "Parsed", "build_request", "create_options",
    "parse_rate_flag", "run_options",
]

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _memory_swap(text: str) -> int:
    return -1 if text == "-1" else parse_bytes(text)


def parse_rate_flag(text: str) -> int:
    """``--egress-rate``/``--ingress-rate``: tc-style units, bits per second."""
    from dockyard.network.shaping import parse_rate

    return parse_rate(text)


def _duration(text: str) -> int:
    """pflag's DurationVar: Go's ``time.ParseDuration``, in nanoseconds."""
    from dockyard.build.flags import parse_go_duration

    try:
        return parse_go_duration(text)
    except ValueError as err:
        raise InvalidArgument(str(err)) from None


DURATION = Parsed(_duration, "duration")


def _opt(*names: str, **kw: Any) -> Decorator:
    if kw.get("multiple"):
        kw.setdefault("default", ())
    return click.option(*names, **kw)


# Flags shared by ``create`` and ``run``, in ``docker run --help`` order where it matters.
_SHARED: list[Decorator] = [
    _opt("-a", "--attach", multiple=True, type=click.Choice(["stdin", "stdout", "stderr"],
         case_sensitive=False), help="Attach to STDIN, STDOUT or STDERR."),
    _opt("--add-host", multiple=True, type=Parsed(opts.parse_add_host),
         help="Add a custom host-to-IP mapping (host:ip)."),
    _opt("--blkio-weight", type=INT, default=0, help="Block IO weight (10-1000), 0 to disable."),
    _opt("--blkio-weight-device", multiple=True, type=Parsed(opts.parse_weight_device),
         help="Block IO weight per device."),
    _opt("--cap-add", multiple=True, help="Add Linux capabilities."),
    _opt("--cap-drop", multiple=True, help="Drop Linux capabilities."),
    _opt("--cgroup-parent", default="", help="Optional parent cgroup for the container."),
    _opt("--cidfile", default="", help="Write the container ID to the file."),
    _opt("--cpu-period", type=INT, default=0, help="Limit CPU CFS period."),
    _opt("--cpu-quota", type=INT, default=0, help="Limit CPU CFS quota."),
    _opt("-c", "--cpu-shares", type=INT, default=0, help="CPU shares (relative weight)."),
    _opt("--cpus", type=Parsed(opts.parse_cpus), default=None, help="Number of CPUs."),
    _opt("--cpuset-cpus", default="", help="CPUs in which to allow execution (0-3, 0,1)."),
    _opt("--cpuset-mems", default="", help="MEMs in which to allow execution (0-3, 0,1)."),
    _opt("--device", multiple=True, type=Parsed(opts.parse_device),
         help="Add a host device to the container."),
    _opt("--device-read-bps", multiple=True, type=Parsed(opts.parse_throttle_bps),
         help="Limit read rate (bytes per second) from a device."),
    _opt("--device-read-iops", multiple=True, type=Parsed(opts.parse_throttle_iops),
         help="Limit read rate (IO per second) from a device."),
    _opt("--device-write-bps", multiple=True, type=Parsed(opts.parse_throttle_bps),
         help="Limit write rate (bytes per second) to a device."),
    _opt("--device-write-iops", multiple=True, type=Parsed(opts.parse_throttle_iops),
         help="Limit write rate (IO per second) to a device."),
    _opt("--dns", multiple=True, help="Set custom DNS servers."),
    _opt("--dns-option", multiple=True, help="Set DNS options."),
    _opt("--dns-search", multiple=True, help="Set custom DNS search domains."),
    _opt("--domainname", default="", help="Container NIS domain name."),
    _opt("--entrypoint", default=None, help="Overwrite the default ENTRYPOINT of the image."),
    _opt("-e", "--env", multiple=True, type=Parsed(opts.parse_env),
         help="Set environment variables."),
    _opt("--env-file", multiple=True, help="Read in a file of environment variables."),
    _opt("--expose", multiple=True, help="Expose a port or a range of ports."),
    _opt("--group-add", multiple=True, help="Add additional groups to join."),
    _opt("--health-cmd", default="", help="Command to run to check health."),
    _opt("--health-interval", type=DURATION, default=0,
         help="Time between running the check (ms|s|m|h) (default 0s)."),
    _opt("--health-on-failure", default="",
         help="Action on an unhealthy container: none, kill, restart or stop."),
    _opt("--health-retries", type=INT, default=0,
         help="Consecutive failures needed to report unhealthy."),
    _opt("--health-start-interval", type=DURATION, default=0,
         help="Time between running the check during the start period (ms|s|m|h)."),
    _opt("--health-start-period", type=DURATION, default=0,
         help="Start period for the container to initialize before starting health-retries "
         "countdown (ms|s|m|h) (default 0s)."),
    _opt("--health-timeout", type=DURATION, default=0,
         help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)."),
    _opt("--no-healthcheck", is_flag=True, help="Disable any container-specified HEALTHCHECK."),
    _opt("-h", "--hostname", default="", help="Container host name."),
    _opt("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)."),
    _opt("--init", is_flag=True, default=False,
         help="Run an init inside the container that forwards signals and reaps processes."),
    _opt("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached."),
    _opt("-l", "--label", multiple=True, help="Set meta data on a container."),
    _opt("--label-file", multiple=True, help="Read in a line delimited file of labels."),
    _opt("--log-driver", default="", help="Logging driver for the container."),
    _opt("--log-opt", multiple=True, help="Log driver options."),
    _opt("-m", "--memory", type=BYTES, default=0, help="Memory limit."),
    _opt("--memory-reservation", type=BYTES, default=0, help="Memory soft limit."),
    _opt("--memory-swap", type=Parsed(_memory_swap), default=0,
         help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap."),
    _opt("--memory-swappiness", type=INT, default=-1,
         help="Tune container memory swappiness (0 to 100)."),
    _opt("--name", default="", help="Assign a name to the container."),
    _opt("--network", "--net", default="default", help="Connect a container to a network."),
    _opt("--network-alias", "--net-alias", multiple=True,
         help="Add network-scoped alias for the container."),
    _opt("--oom-kill-disable", is_flag=True, help="Disable OOM Killer."),
    _opt("--oom-score-adj", type=INT, default=0, help="Tune host's OOM preferences."),
    _opt("--pids-limit", type=INT, default=0, help="Tune container pids limit (-1 unlimited)."),
    _opt("--privileged", is_flag=True, help="Give extended privileges to this container."),
    _opt("--egress-rate", type=Parsed(parse_rate_flag), default=0,
         help="Limit the bandwidth the container sends (e.g. 10mbit)."),
    _opt("--ingress-rate", type=Parsed(parse_rate_flag), default=0,
         help="Limit the bandwidth the container receives (e.g. 10mbit)."),
    _opt("-p", "--publish", multiple=True, help="Publish a container's port(s) to the host."),
    _opt("-P", "--publish-all", is_flag=True,
         help="Publish all exposed ports to random ports."),
    _opt("--pull", type=click.Choice(["always", "missing", "never"]), default="missing",
         help='Pull image before running ("always"|"missing"|"never").'),
    _opt("--read-only", is_flag=True, help="Mount the container's root filesystem read only."),
    _opt("--restart", type=Parsed(opts.parse_restart), default="no",
         help="Restart policy to apply when a container exits."),
    _opt("--runtime", default=None, help="Runtime to use for this container (dockyard, runc, "
         "crun)."),
    _opt("--rm", is_flag=True, help="Automatically remove the container when it exits."),
    _opt("--security-opt", multiple=True, type=Parsed(opts.parse_security_opt),
         help="Security Options."),
    _opt("--shm-size", type=BYTES, default=0, help="Size of /dev/shm."),
    _opt("--stop-signal", default=None, help="Signal to stop the container."),
    _opt("--stop-timeout", type=INT, default=None,
         help="Timeout (in seconds) to stop a container."),
    _opt("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY."),
    _opt("--ulimit", multiple=True, type=Parsed(opts.parse_ulimit), help="Ulimit options."),
    _opt("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>])."),
    _opt("-v", "--volume", multiple=True, help="Bind mount a volume."),
    _opt("--mount", "mount_", multiple=True, help="Attach a filesystem mount to the container."),
    _opt("--tmpfs", multiple=True, help="Mount a tmpfs directory."),
    _opt("--volumes-from", multiple=True, help="Mount volumes from the specified container(s)."),
    _opt("--volume-driver", default="", help="Optional volume driver for the container."),
    _opt("-w", "--workdir", default="", help="Working directory inside the container."),
]
_RUN_ONLY: list[Decorator] = [
    _opt("-d", "--detach", is_flag=True,
         help="Run container in background and print container ID."),
    _opt("--detach-keys", default=None, help="Override the key sequence for detaching."),
    _opt("--sig-proxy/--no-sig-proxy", default=True,
         help="Proxy received signals to the process."),
]


def _apply(decorators: list[Decorator], f: F) -> F:
    g: Callable[..., Any] = f
    for decorator in reversed(decorators):
        g = decorator(g)
    return cast(F, g)


def create_options(f: F) -> F:
    """Decorate a click command with ``docker create``'s flags."""
    return _apply(_SHARED, f)


def run_options(f: F) -> F:
    """Decorate a click command with ``docker run``'s flags."""
    return _apply(_SHARED + _RUN_ONLY, f)


@dataclass
class CreateRequest:
    """What ``create``/``run`` hands the engine, and what the command does after."""

    name: str
    config: dict[str, Any]
    host_config: dict[str, Any]
    networking_config: dict[str, Any] = field(default_factory=dict)
    detach: bool = False
    cidfile: str = ""
    pull: str = "missing"


def _normalize_cap(name: str) -> str:
    cap = name.strip().upper()
    if cap == "ALL" or cap.startswith("CAP_"):
        return cap
    return "CAP_" + cap


def _labels(p: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for entry in [*opts.read_label_files(p["label_file"]), *p["label"]]:
        key, value = opts.parse_label(entry)
        labels[key] = value
    return labels


def _check_conflicts(p: dict[str, Any], restart: dict[str, Any]) -> None:
    if p["rm"] and restart["Name"] not in ("", "no"):
        raise InvalidArgument("conflicting options: cannot specify both --restart and --rm")
    if p.get("detach") and p["attach"]:
        raise InvalidArgument("conflicting options: cannot specify both --attach and --detach")
    if p["stop_signal"] is not None:
        opts.parse_signal(p["stop_signal"])
    if p["log_driver"] == "none" and p["log_opt"]:
        raise InvalidArgument("invalid logging opts for driver none")
    if p["memory_swappiness"] != -1 and not 0 <= p["memory_swappiness"] <= 100:
        raise InvalidArgument(f"invalid value: {p['memory_swappiness']}. "
                              "Valid memory swappiness range is 0-100")


def _ports(p: dict[str, Any]) -> tuple[dict[str, dict[str, Any]],
                                       dict[str, list[dict[str, str]]]]:
    """``-p``/``--expose`` → (``ExposedPorts``, ``PortBindings``) like the docker CLI."""
    if not (p.get("publish") or p.get("expose")):
        return {}, {}
    from dockyard.network.ports import parse_expose, parse_publish_specs

    exposed, bindings = parse_publish_specs(p.get("publish") or ())
    for raw in p.get("expose") or ():
        for key in parse_expose(raw):
            exposed.setdefault(key, {})
    return exposed, bindings


def _endpoints_config(p: dict[str, Any]) -> dict[str, Any]:
    """``--ip``/``--network-alias`` → ``NetworkingConfig`` for the ``--network``."""
    ip, aliases = p.get("ip") or "", list(p.get("network_alias") or ())
    if not (ip or aliases):
        return {"EndpointsConfig": {}}
    net = p["network"] if p["network"] not in ("", "default") else "default"
    return {"EndpointsConfig": {net: {
        "IPAMConfig": {"IPv4Address": ip} if ip else None, "Links": None,
        "Aliases": aliases or None}}}


def _storage(p: dict[str, Any]) -> tuple[list[str], dict[str, Any], list[dict[str, Any]],
                                         dict[str, str]]:
    """-v, --mount and --tmpfs as the docker CLI sends them: ``-v`` with a source goes
    to Binds (``./x`` made absolute), a bare ``-v /path`` to Config.Volumes."""
    binds: list[str] = []
    volumes: dict[str, Any] = {}
    for spec in p.get("volume") or ():
        host, sep, rest = spec.partition(":")
        if not sep or not host:
            volumes[spec] = {}
            continue
        if host == "." or host.startswith("./"):
            host = os.path.abspath(host)
        binds.append(f"{host}:{rest}")
    mounts: list[dict[str, Any]] = []
    tmpfs: dict[str, str] = {}
    if p.get("mount_") or p.get("tmpfs"):  # the parser loads the volume store: only then
        from dockyard.volumes.parse import parse_mount_flag, parse_tmpfs_flag

        mounts = [parse_mount_flag(m) for m in p.get("mount_") or ()]
        tmpfs = dict(parse_tmpfs_flag(t) for t in p.get("tmpfs") or ())
    return binds, volumes, mounts, tmpfs


def _healthcheck(p: dict[str, Any]) -> dict[str, Any] | None:
    """The docker client's HealthConfig from the --health-* flags."""
    keys = ("health_cmd", "health_interval", "health_timeout", "health_start_period",
            "health_retries", "health_start_interval")
    have = any(p.get(k) for k in keys)
    if p.get("no_healthcheck"):
        if have:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have:
        return None
    for flag in ("interval", "timeout", "retries", "start_period", "start_interval"):
        if (p.get("health_" + flag) or 0) < 0:
            raise InvalidArgument(f"--health-{flag.replace('_', '-')} cannot be negative")
    out: dict[str, Any] = {}
    if p.get("health_cmd"):
        out["Test"] = ["CMD-SHELL", p["health_cmd"]]
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"),
                      ("start_period", "StartPeriod"), ("start_interval", "StartInterval"),
                      ("retries", "Retries")):
        if p.get("health_" + flag):
            out[key] = p["health_" + flag]
    return out


def build_request(image: str, command: tuple[str, ...], p: dict[str, Any]) -> CreateRequest:
    """Turn click's parsed flags (``p``) into the Engine API create request."""
    restart = p["restart"] if isinstance(p["restart"], dict) else opts.parse_restart(p["restart"])
    _check_conflicts(p, restart)
    detach = bool(p.get("detach"))
    attach = {a.lower() for a in p["attach"]}
    attach_stdin = "stdin" in attach or p["interactive"]
    attach_out = "stdout" in attach or not attach
    attach_err = "stderr" in attach or not attach
    if detach:
        attach_stdin = attach_out = attach_err = False
    entrypoint: list[str] | None = None if p["entrypoint"] is None else [p["entrypoint"]]
    env = [*opts.read_env_files(p["env_file"]), *p["env"]]
    binds, volumes, mounts, tmpfs = _storage(p)
    config: dict[str, Any] = {
        "Hostname": p["hostname"],
        "Domainname": p["domainname"],
        "User": p["user"],
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_out,
        "AttachStderr": attach_err,
        "Tty": p["tty"],
        "OpenStdin": p["interactive"],
        "StdinOnce": p["interactive"] and attach_stdin,
        "Env": env or None,
        "Cmd": list(command) or None,
        "Image": image,
        "Volumes": volumes,
        "WorkingDir": p["workdir"],
        "Entrypoint": entrypoint,
        "OnBuild": None,
        "Labels": _labels(p),
    }
    if p["stop_signal"] is not None:
        config["StopSignal"] = p["stop_signal"]
    if p["stop_timeout"] is not None:
        config["StopTimeout"] = p["stop_timeout"]
    health = _healthcheck(p)
    if health is not None:
        config["Healthcheck"] = health
    network = p["network"]
    exposed, bindings = _ports(p)
    if exposed:
        config["ExposedPorts"] = exposed
    host_config: dict[str, Any] = {
        "Binds": binds or None,
        "ContainerIDFile": p["cidfile"],
        "LogConfig": {"Type": p["log_driver"],
                      "Config": opts.parse_log_opts(p["log_driver"], p["log_opt"])},
        "NetworkMode": network,
        "PortBindings": bindings,
        "RestartPolicy": restart if restart["Name"] else {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": p["rm"],
        "VolumeDriver": p.get("volume_driver") or "",
        "VolumesFrom": list(p.get("volumes_from") or ()) or None,
        "ConsoleSize": [0, 0],
        "CapAdd": [_normalize_cap(c) for c in p["cap_add"]] or None,
        "CapDrop": [_normalize_cap(c) for c in p["cap_drop"]] or None,
        "CgroupnsMode": "",
        "Dns": list(p.get("dns") or ()),
        "DnsOptions": list(p.get("dns_option") or ()),
        "DnsSearch": list(p.get("dns_search") or ()),
        "ExtraHosts": list(p["add_host"]) or None,
        "GroupAdd": list(p["group_add"]) or None,
        "IpcMode": "",
        "Cgroup": "",
        "Links": None,
        "OomScoreAdj": p["oom_score_adj"],
        "PidMode": "",
        "Privileged": p["privileged"],
        "PublishAllPorts": bool(p.get("publish_all")),
        "ReadonlyRootfs": p["read_only"],
        "SecurityOpt": list(p["security_opt"]) or None,
        "UTSMode": "",
        "UsernsMode": "",
        "ShmSize": p["shm_size"],
        "Isolation": "",
        "CpuShares": p["cpu_shares"],
        "Memory": p["memory"],
        "NanoCpus": p["cpus"] or 0,
        "CgroupParent": p["cgroup_parent"],
        "BlkioWeight": p["blkio_weight"],
        "BlkioWeightDevice": list(p["blkio_weight_device"]),
        "BlkioDeviceReadBps": list(p["device_read_bps"]),
        "BlkioDeviceWriteBps": list(p["device_write_bps"]),
        "BlkioDeviceReadIOps": list(p["device_read_iops"]),
        "BlkioDeviceWriteIOps": list(p["device_write_iops"]),
        "CpuPeriod": p["cpu_period"],
        "CpuQuota": p["cpu_quota"],
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": p["cpuset_cpus"],
        "CpusetMems": p["cpuset_mems"],
        "Devices": list(p["device"]),
        "DeviceCgroupRules": None,
        "DeviceRequests": None,
        "MemoryReservation": p["memory_reservation"],
        "MemorySwap": p["memory_swap"],
        "MemorySwappiness": p["memory_swappiness"],
        "OomKillDisable": p["oom_kill_disable"],
        "PidsLimit": p["pids_limit"],
        "Ulimits": list(p["ulimit"]),
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": None,
        "ReadonlyPaths": None,
    }
    if mounts:
        host_config["Mounts"] = mounts
    if tmpfs:
        host_config["Tmpfs"] = tmpfs
    if p["init"]:
        host_config["Init"] = True
    for flag, key in (("egress_rate", "EgressRate"), ("ingress_rate", "IngressRate")):
        if p.get(flag):
            host_config[key] = p[flag]
    if p["runtime"]:
        host_config["Runtime"] = p["runtime"]
    if p.get("health_on_failure"):
        from dockyard.engine.health import ON_FAILURE

        if p["health_on_failure"] not in ON_FAILURE:
            raise InvalidArgument(f"invalid on-failure action: {p['health_on_failure']!r}: "
                                  "must be one of none, kill, restart, stop")
        host_config["HealthOnFailure"] = p["health_on_failure"]
    return CreateRequest(
        name=p["name"],
        config=config,
        host_config=host_config,
        networking_config=_endpoints_config(p),
        detach=detach,
        cidfile=os.fspath(p["cidfile"]),
        pull=p.get("pull") or "missing",
    )
