"""The OCI runtime spec (``config.json``): validation of the fields a runtime relies on,
and the default document ``dockyard-runtime spec`` writes.

The config stays a plain ``dict`` (it is read once per start and passed down as is);
``validate_config`` checks types and required fields and raises ``InvalidConfig``
naming the field (``config.json: process.args: missing``). Imports nothing heavy:
it runs on every container start.
"""

from __future__ import annotations

from dockyard.errors import InvalidConfig

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "HOOK_KINDS",
    "NAMESPACE_TYPES",
    "OCI_VERSION",
    "default_spec",
    "parse_config",
    "validate_config",
]

OCI_VERSION = "1.1.0"
NAMESPACE_TYPES = frozenset({"pid", "network", "mount", "ipc", "uts", "user", "cgroup"})
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer",
              "poststart", "poststop")

def _fail(field: str, what: str) -> InvalidConfig:
    return InvalidConfig(f"config.json: {field}: {what}")


def _want(obj: Any, field: str, kind: type | tuple[type, ...], name: str) -> Any:
    if not isinstance(obj, kind) or (kind is int and isinstance(obj, bool)):
        raise _fail(field, f"must be {name}")
    return obj


def _opt(parent: dict[str, Any], key: str, field: str, kind: type, name: str) -> Any:
    value = parent.get(key)
    if value is None:
        return None
    return _want(value, f"{field}.{key}" if field else key, kind, name)


def _strings(value: Any, field: str) -> list[str]:
    _want(value, field, list, "a list of strings")
    for i, item in enumerate(value):
        _want(item, f"{field}[{i}]", str, "a string")
    return list(value)


def parse_config(raw: bytes | str) -> dict[str, Any]:
    """Parse and validate a config.json document."""
    from dockyard.runtime.jsonfast import loads

    try:
        data = loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"config.json: not valid json: {exc}") from None
    return validate_config(data)


def validate_config(data: Any) -> dict[str, Any]:
    """Check the parts of a runtime config the runtime acts on; return it unchanged."""
    _want(data, "config.json", dict, "a json object")
    if "ociVersion" not in data:
        raise _fail("ociVersion", "missing")
    _want(data["ociVersion"], "ociVersion", str, "a string")
    root = data.get("root")
    if root is None:
        raise _fail("root", "missing")
    _want(root, "root", dict, "an object")
    if not root.get("path"):
        raise _fail("root.path", "missing")
    _want(root["path"], "root.path", str, "a string")
    _opt(root, "readonly", "root", bool, "a boolean")
    _validate_process(data.get("process"), "process", need_args=True)
    _opt(data, "hostname", "", str, "a string")
    _opt(data, "domainname", "", str, "a string")
    for i, m in enumerate(_opt(data, "mounts", "", list, "a list") or ()):
        _validate_mount(m, f"mounts[{i}]")
    _validate_hooks(data.get("hooks"))
    _opt(data, "annotations", "", dict, "an object")
    _validate_linux(data.get("linux"))
    return data  # type: ignore[no-any-return]


def _validate_process(proc: Any, field: str, *, need_args: bool) -> None:
    if proc is None:
        raise _fail(field, "missing")
    _want(proc, field, dict, "an object")
    args = proc.get("args")
    if args is None:
        if need_args:
            raise _fail(f"{field}.args", "missing")
    else:
        _strings(args, f"{field}.args")
        if not args and need_args:
            raise _fail(f"{field}.args", "must not be empty")
    cwd = proc.get("cwd")
    if cwd is None:
        raise _fail(f"{field}.cwd", "missing")
    _want(cwd, f"{field}.cwd", str, "a string")
    if not cwd.startswith("/"):
        raise _fail(f"{field}.cwd", f"must be an absolute path, not {cwd!r}")
    _strings(proc.get("env", []), f"{field}.env")
    _opt(proc, "terminal", field, bool, "a boolean")
    _opt(proc, "noNewPrivileges", field, bool, "a boolean")
    _opt(proc, "umask", field, int, "an integer")
    _opt(proc, "oomScoreAdj", field, int, "an integer")
    user = _opt(proc, "user", field, dict, "an object") or {}
    for key in ("uid", "gid"):
        _opt(user, key, f"{field}.user", int, "an integer")
    for i, g in enumerate(_opt(user, "additionalGids", f"{field}.user", list, "a list") or ()):
        _want(g, f"{field}.user.additionalGids[{i}]", int, "an integer")
    caps = _opt(proc, "capabilities", field, dict, "an object") or {}
    for kind, names in caps.items():
        _strings(names, f"{field}.capabilities.{kind}")
    for i, rl in enumerate(_opt(proc, "rlimits", field, list, "a list") or ()):
        where = f"{field}.rlimits[{i}]"
        _want(rl, where, dict, "an object")
        kind = _want(rl.get("type"), f"{where}.type", str, "a string")
        if not kind.startswith("RLIMIT_"):
            raise _fail(f"{where}.type", f"unknown rlimit {kind!r}")
        for key in ("soft", "hard"):
            _want(rl.get(key), f"{where}.{key}", int, "an integer")


def _validate_mount(m: Any, field: str) -> None:
    _want(m, field, dict, "an object")
    dest = m.get("destination")
    if not dest:
        raise _fail(f"{field}.destination", "missing")
    _want(dest, f"{field}.destination", str, "a string")
    _opt(m, "type", field, str, "a string")
    _opt(m, "source", field, str, "a string")
    _strings(m.get("options", []), f"{field}.options")


def _validate_hooks(hooks: Any) -> None:
    if hooks is None:
        return
    _want(hooks, "hooks", dict, "an object")
    for kind, entries in hooks.items():
        if kind not in HOOK_KINDS:
            raise _fail(f"hooks.{kind}", "unknown hook kind")
        _want(entries, f"hooks.{kind}", list, "a list")
        for i, hook in enumerate(entries):
            where = f"hooks.{kind}[{i}]"
            _want(hook, where, dict, "an object")
            path = _want(hook.get("path"), f"{where}.path", str, "a string")
            if not path.startswith("/"):
                raise _fail(f"{where}.path", "must be an absolute path")
            _strings(hook.get("args", []), f"{where}.args")
            _strings(hook.get("env", []), f"{where}.env")
            _opt(hook, "timeout", where, int, "an integer")


def _validate_linux(linux: Any) -> None:
    if linux is None:
        return
    _want(linux, "linux", dict, "an object")
    seen: set[str] = set()
    for i, ns in enumerate(_opt(linux, "namespaces", "linux", list, "a list") or ()):
        where = f"linux.namespaces[{i}]"
        _want(ns, where, dict, "an object")
        kind = _want(ns.get("type"), f"{where}.type", str, "a string")
        if kind not in NAMESPACE_TYPES:
            raise _fail(f"{where}.type", f"unknown namespace type {kind!r}")
        if kind in seen:
            raise _fail(f"{where}.type", f"namespace {kind!r} listed twice")
        seen.add(kind)
        _opt(ns, "path", where, str, "a string")
    for key in ("uidMappings", "gidMappings"):
        for i, mp in enumerate(_opt(linux, key, "linux", list, "a list") or ()):
            where = f"linux.{key}[{i}]"
            _want(mp, where, dict, "an object")
            for f in ("containerID", "hostID", "size"):
                _want(mp.get(f), f"{where}.{f}", int, "an integer")
    _opt(linux, "cgroupsPath", "linux", str, "a string")
    _opt(linux, "resources", "linux", dict, "an object")
    _opt(linux, "seccomp", "linux", dict, "an object")
    _opt(linux, "rootfsPropagation", "linux", str, "a string")
    for key in ("maskedPaths", "readonlyPaths"):
        _strings(linux.get(key, []), f"linux.{key}")
    for key, value in (_opt(linux, "sysctl", "linux", dict, "an object") or {}).items():
        _want(value, f"linux.sysctl.{key}", str, "a string")
    for i, dev in enumerate(_opt(linux, "devices", "linux", list, "a list") or ()):
        where = f"linux.devices[{i}]"
        _want(dev, where, dict, "an object")
        _want(dev.get("path"), f"{where}.path", str, "a string")
        if dev.get("type") not in ("c", "b", "u", "p"):
            raise _fail(f"{where}.type", "must be one of c, b, u, p")


def default_spec(*, args: list[str] | None = None, terminal: bool = True) -> dict[str, Any]:
    """A minimal, runnable config: busybox-friendly defaults like ``runc spec``."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    ro_opts = ["nosuid", "noexec", "nodev", "ro"]
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": args or ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(caps) for k in
                             ("bounding", "effective", "permitted", "ambient")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "dockyard",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ro_opts},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }
