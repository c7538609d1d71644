"""Starting a container: everything between a stored record and a running monitor.

Mount the snapshot at ``$RUN/containers/<id>/rootfs``; write ``hostname``, ``hosts`` and
``resolv.conf`` into the container dir; resolve the user in the image's own passwd and
group files and check the command inside the root (docker's 127/126 before any runtime
runs); build ``config.json`` in the bundle dir; launch the monitor, which runs the
runtime's create and start. When the container ends it is tidied (:mod:`tidy`): by its
monitor for the built-in runtime, by a poststop hook (:func:`exit_hook`) for runc/crun.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dockyard.engine import rooted, spec
from dockyard.errors import InvalidArgument, NotFound
from dockyard.settings import Roots

if TYPE_CHECKING:
    from dockyard.engine.lifecycle import Lifecycle

__all__ = ["exit_hook", "launch", "namespace_of"]


def launch(lc: Lifecycle, cid: str, record: dict[str, Any],
           attach: dict[str, object] | None = None) -> int:
    """Prepare the container's root, /etc files and bundle, then start its monitor
    (which first connects to ``attach``, an ``AttachPoint.spec``, when given);
    returns the init's pid."""
    from dockyard.engine import etcfiles
    from dockyard.engine.logs import parse_log_config
    from dockyard.engine.monitor.client import MonitorConfig, start_monitor
    from dockyard.engine.users import resolve_user

    cfg, hc = record["Config"], record["HostConfig"]
    cdir, rdir, rootfs = lc.store.dir(cid), lc.run_dir(cid), lc.rootfs(cid)
    rdir.mkdir(parents=True, exist_ok=True)
    try:
        lc.images.mount(cid, rootfs)
    except NotFound:  # create made the snapshot; only a crash meanwhile removed it
        lc.images.prepare(cid, lc.images.resolve(record["Image"]))
        lc.images.mount(cid, rootfs)
    mode = hc.get("NetworkMode") or "default"
    netns_path = lc.networking.setup(cid, record, lc.network_stale)
    apply_rates(hc, netns_path)
    first = next(iter(lc.networking.store.endpoints(cid)), None) if netns_path else None
    user_network = first is not None and first.network_name != "bridge"
    files = {"hostname": etcfiles.hostname_file(cfg.get("Hostname") or cid[:12]),
             "hosts": etcfiles.hosts_file(mode, cfg.get("Hostname") or "",
                                          first.address if first else "",
                                          extra_hosts=hc.get("ExtraHosts")),
             "resolv.conf": etcfiles.resolv_conf(
                 mode, embedded_dns=user_network, dns=hc.get("Dns"),
                 search=hc.get("DnsSearch"), options=hc.get("DnsOptions"))}
    if mode.startswith("container:"):
        cfg, files = _shared_etc(lc, mode[len("container:"):], cfg, files)
    for fname, text in files.items():
        (cdir / fname).write_text(text)
    user = resolve_user(rootfs, cfg.get("User") or "", hc.get("GroupAdd"))
    workdir = cfg.get("WorkingDir") or "/"
    try:
        host_workdir = rooted.resolve(rootfs, workdir)
        if not host_workdir.exists():
            host_workdir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InvalidArgument(f"working directory {workdir}: "
                              f"{(err.strerror or str(err)).lower()}")
    env = spec.container_env(cfg)
    path_env = next((e[5:] for e in env if e.startswith("PATH=")), spec.DEFAULT_PATH)
    command = (list(cfg.get("Entrypoint") or []) + list(cfg.get("Cmd") or []))[0]
    rooted.find_command(rootfs, command, path_env, workdir)
    init_path = None
    if hc.get("Init"):
        from dockyard.engine.init import ensure_init

        init_path = ensure_init(lc.roots.root / "bin")
    join = {kind: namespace_of(lc, str(hc.get(key))[len("container:"):], kind)
            for kind, key in (("network", "NetworkMode"), ("pid", "PidMode"),
                              ("ipc", "IpcMode"))
            if str(hc.get(key) or "").startswith("container:")}
    extra_mounts: list[dict[str, Any]] = []
    root_prop = ""
    if record.get("MountPoints") or hc.get("Tmpfs"):
        from dockyard.engine.mounts import oci_mounts

        extra_mounts, root_prop = oci_mounts(lc, record, rootfs)
    parent = hc.get("CgroupParent") or lc.cgroup_parent
    runtime = lc.runtime(record)
    # The built-in runtime's monitor tidies itself (no interpreter start per exit);
    # runc and crun get the poststop hook.
    builtin = runtime.name == "dockyard"
    inputs = spec.SpecInputs(
        container_id=cid, rootfs=rootfs, user=user,
        cgroups_path=f"/{parent.strip('/')}/{cid}",
        hostname_path=cdir / "hostname", hosts_path=cdir / "hosts",
        resolv_conf_path=cdir / "resolv.conf", init_path=init_path,
        cgroup_v2=lc.facts.cgroup_v2, poststop=[] if builtin else [exit_hook(lc.roots, cid)],
        join=join,
        netns_path=netns_path, mounts=extra_mounts, rootfs_propagation=root_prop)
    oci = spec.build_spec(cfg, hc, inputs)
    (rdir / "config.json").write_text(json.dumps(oci))
    runtime.delete(cid)  # a leftover from a crashed start would block create
    log = hc.get("LogConfig") or {}
    launch = MonitorConfig(
        id=cid, bundle=str(rdir), runtime=runtime.argv, container_dir=str(cdir),
        run_dir=str(rdir), tty=bool(cfg.get("Tty")), stdin=bool(cfg.get("OpenStdin")),
        stdin_once=bool(cfg.get("StdinOnce")),
        log=parse_log_config(log.get("Type"), log.get("Config"), cfg.get("Labels"),
                             cfg.get("Env")),
        autostart=True, cgroups_path=inputs.cgroups_path,
        durable=not hc.get("AutoRemove"))
    if builtin:
        launch["tidy"] = {"root": str(lc.roots.root), "run_root": str(lc.roots.run_root)}
    if user_network and netns_path:
        from dockyard.network.dns import monitor_config

        launch["dns"] = monitor_config(netns_path, str(lc.networking.store.dir), cid,
                                       dns=hc.get("Dns"))
    launch.update(_supervision(lc, cid, record, oci["process"], runtime))  # type: ignore[typeddict-item]
    if attach is not None:
        launch["attach"] = attach
    with contextlib.suppress(FileNotFoundError):
        (rdir / "paused").unlink()
    return start_monitor(launch)


def _shared_etc(lc: Lifecycle, ref: str, cfg: dict[str, Any], files: dict[str, str]
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """``--network container:<ref>``: like dockerd, the target's hostname, hosts and
    resolv.conf (the joiner lives on the target's network)."""
    target = lc.resolve(ref)
    tcfg = lc.store.load(target)["Config"]
    shared = dict(files)
    for fname in shared:
        with contextlib.suppress(OSError):
            shared[fname] = (lc.store.dir(target) / fname).read_text()
    return ({**cfg, "Hostname": tcfg.get("Hostname") or "",
             "Domainname": tcfg.get("Domainname") or ""}, shared)


def apply_rates(hc: Mapping[str, Any], netns_path: str | None, *, clear: bool = False) -> None:
    """``EgressRate``/``IngressRate`` (bits/s) on the container's eth0 (net-services'
    shaping); ``clear`` also removes limits that are 0 now (for ``update``)."""
    egress, ingress = hc.get("EgressRate") or 0, hc.get("IngressRate") or 0
    if not (egress or ingress or clear):
        return
    if netns_path is None:
        raise InvalidArgument("--egress-rate and --ingress-rate need the container's own "
                              "network (not host, none or container:)")
    from dockyard.network.shaping import set_rate

    # None leaves a direction alone (a fresh veth has no limit to clear)
    set_rate("eth0", netns_path, egress=int(egress) if egress or clear else None,
             ingress=int(ingress) if ingress or clear else None)


def _supervision(lc: Lifecycle, cid: str, record: dict[str, Any], process: dict[str, Any],
                 runtime: Any) -> dict[str, Any]:
    """The launch file's restart policy, health check and event settings."""
    from dockyard.engine.events import log_path
    from dockyard.engine.health import monitor_health
    from dockyard.engine.lifecycle import DEFAULT_STOP_TIMEOUT, container_attributes, parse_signal

    cfg, hc = record["Config"], record["HostConfig"]
    out: dict[str, Any] = {
        "restart": dict(hc.get("RestartPolicy") or {}),
        "events": log_path(lc.roots.root),
        "event_attrs": container_attributes(record),
        "stop_signal": parse_signal(cfg.get("StopSignal") or "SIGTERM"),
        "stop_timeout": DEFAULT_STOP_TIMEOUT if cfg.get("StopTimeout") is None
        else int(cfg["StopTimeout"]),
    }
    health = monitor_health(cfg, hc, process, lc.run_dir(cid),
                            lambda proc, pid: runtime.exec_argv(cid, proc, False, False, pid))
    if health is not None:
        out["health"] = health
    return out


_NS_FILE = {"network": "net", "pid": "pid", "ipc": "ipc"}
_NS_WORD = {"network": "network", "pid": "PID", "ipc": "IPC"}


def namespace_of(lc: Lifecycle, ref: str, kind: str) -> str:
    """``/proc/<pid>/ns/<kind>`` of the running container ``ref`` (``--network
    container:<ref>`` and the like)."""
    from dockyard.errors import Conflict

    target = lc.resolve(ref)
    state = lc.state(target)
    if not state.get("Running") or not state.get("Pid"):
        raise Conflict(f"cannot join {_NS_WORD[kind]} of a non running container: {target}")
    return f"/proc/{state['Pid']}/ns/{_NS_FILE[kind]}"


def exit_hook(roots: Roots, cid: str) -> dict[str, Any]:
    """An OCI poststop hook (run by the runtime's delete, which the monitor calls
    when init ends) that starts ``dockyard.engine.tidy`` in the background: unmount
    at once, and remove ``--rm`` containers with no command left to do it."""
    import sys

    script = ('"$0" -m dockyard.engine.tidy "$1" "$2" "$3" '
              "</dev/null >/dev/null 2>&1 &")
    return {"path": "/bin/sh",
            "args": ["sh", "-c", script, sys.executable, str(roots.root),
                     str(roots.run_root), cid]}
