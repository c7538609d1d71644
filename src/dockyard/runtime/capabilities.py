"""Linux capabilities: the name table, parsing, and the calls the container init makes.

The init changes its capabilities in a fixed order (runc's), because each step needs
privileges the next one removes::

    drop_bounding(bounding)          # needs CAP_SETPCAP, so before anything is lowered
    keep_caps(True)                  # permitted survives the uid change below
    setgroups / setgid / setuid      # the caller's user switch
    keep_caps(False)
    set_sets(effective, permitted, inheritable)
    raise_ambient(ambient)           # only caps in permitted & inheritable can be raised

``apply_process_capabilities`` runs that sequence around the caller's user switch.
Standard library and ``_ctypes`` (``runtime/cabi``) only.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidConfig, SystemFailure
from dockyard.runtime import cabi

TYPE_CHECKING = False  # typing costs milliseconds per start

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = [
    "CAPABILITIES",
    "NAMES",
    "SETS",
    "apply_process_capabilities",
    "available",
    "bounding_set",
    "check_process_capabilities",
    "drop_bounding",
    "get_sets",
    "keep_caps",
    "last_cap",
    "names_of",
    "parse",
    "raise_ambient",
    "set_sets",
]

# Index = capability number (linux/capability.h); CAP_CHECKPOINT_RESTORE (40) is the last.
NAMES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
CAPABILITIES: dict[str, int] = {name: i for i, name in enumerate(NAMES)}
# The five sets of an OCI process.capabilities object.
SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")

_PR_CAPBSET_READ = 23
_PR_CAPBSET_DROP = 24
_PR_SET_KEEPCAPS = 8
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_RAISE = 2
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _Header(cabi.Structure):  # type: ignore[misc]
    _fields_ = [("version", cabi.U32), ("pid", cabi.Int)]


class _Data(cabi.Structure):  # type: ignore[misc]
    _fields_ = [("effective", cabi.U32), ("permitted", cabi.U32), ("inheritable", cabi.U32)]


_LIBC: dict[str, Any] = {}


def _libc(name: str) -> Any:
    """The C library's ``name`` (prctl, capget, capset), looked up once."""
    func = _LIBC.get(name)
    if func is None:
        args = (cabi.Int, cabi.ULong, cabi.ULong, cabi.ULong, cabi.ULong) \
            if name == "prctl" else None
        func = _LIBC[name] = cabi.libc(name, argtypes=args)
    return func


def _prctl(option: int, arg2: int = 0, arg3: int = 0, what: str = "prctl") -> int:
    rc = int(_libc("prctl")(option, arg2, arg3, 0, 0))
    if rc < 0:
        raise SystemFailure(f"{what}: {_strerror(cabi.errno())}")
    return rc


def _strerror(err: int) -> str:
    return os.strerror(err).lower()


_LAST_CAP: list[int] = []


def last_cap() -> int:
    """The highest capability number this kernel knows (``cap_last_cap``)."""
    if not _LAST_CAP:
        try:
            with open("/proc/sys/kernel/cap_last_cap") as f:
                _LAST_CAP.append(int(f.read()))
        except (OSError, ValueError):
            _LAST_CAP.append(len(NAMES) - 1)
    return _LAST_CAP[0]


def parse(names: object, field: str = "capabilities") -> int:
    """Mask of the capabilities named (``CAP_X``; the prefix and case are optional).

    Raises ``InvalidConfig`` naming ``field`` and the first unknown or non-string entry.
    """
    if not isinstance(names, (list, tuple, set, frozenset)):
        raise InvalidConfig(f"{field}: must be a list of capability names")
    mask = 0
    for name in names:
        if not isinstance(name, str):
            raise InvalidConfig(f"{field}: capability names must be strings, got {name!r}")
        key = name.upper()
        if not key.startswith("CAP_"):
            key = "CAP_" + key
        num = CAPABILITIES.get(key)
        if num is None:
            raise InvalidConfig(f"{field}: unknown capability: {name}")
        mask |= 1 << num
    return mask


def names_of(mask: int) -> list[str]:
    """Names of the capabilities set in ``mask``, in number order."""
    return [name for i, name in enumerate(NAMES) if mask >> i & 1]


def _sets_of(caps: Mapping[str, object] | None) -> dict[str, int]:
    if caps is None:
        return dict.fromkeys(SETS, 0)
    if not isinstance(caps, dict):
        raise InvalidConfig("process.capabilities: must be an object")
    for key in caps:
        if key not in SETS:
            raise InvalidConfig(f"process.capabilities: unknown set: {key}")
    return {s: parse(caps.get(s) or [], f"process.capabilities.{s}") for s in SETS}


def bounding_set() -> int:
    """This process's bounding set, read with PR_CAPBSET_READ."""
    mask = 0
    for cap in range(last_cap() + 1):
        if _prctl(_PR_CAPBSET_READ, cap, what="prctl(PR_CAPBSET_READ)"):
            mask |= 1 << cap
    return mask


def available() -> list[str]:
    """Names of the capabilities this process can hand on (its bounding set).

    What "all capabilities" means here (``--privileged``, ``--cap-add ALL``): a config
    asking for more fails ``check_process_capabilities``, as root here lacks
    CAP_SYS_RESOURCE. Docker computes its privileged set the same way.
    """
    _, permitted, _ = get_sets()
    return names_of(bounding_set() & permitted)


def get_sets(pid: int = 0) -> tuple[int, int, int]:
    """(effective, permitted, inheritable) of ``pid`` (0: this thread), via capget."""
    hdr = _Header(_LINUX_CAPABILITY_VERSION_3, pid)
    data = cabi.array(_Data, 2)
    if _libc("capget")(cabi.byref(hdr), data) < 0:
        raise SystemFailure(f"capget: {_strerror(cabi.errno())}")
    eff, prm, inh = (getattr(data[0], f) | getattr(data[1], f) << 32
                     for f in ("effective", "permitted", "inheritable"))
    return eff, prm, inh


def check_process_capabilities(caps: Mapping[str, object] | None) -> dict[str, int]:
    """Validate an OCI ``process.capabilities`` object; return the mask of each set.

    Run it in the parent before forking: unknown names fail here, and so do caps in
    permitted/effective/inheritable that this process does not hold itself (root here
    has no CAP_SYS_RESOURCE), which capset would refuse later inside the container.
    """
    sets = _sets_of(caps)
    _, held, _ = get_sets()
    for name in ("permitted", "effective", "inheritable"):
        missing = sets[name] & ~held
        if missing:
            raise InvalidConfig(
                f"process.capabilities.{name}: not held by the runtime: "
                f"{', '.join(names_of(missing))}")
    return sets


def drop_bounding(keep: int) -> None:
    """Drop every capability not in ``keep`` from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(last_cap() + 1):
        if not keep >> cap & 1:
            _prctl(_PR_CAPBSET_DROP, cap, what=f"prctl(PR_CAPBSET_DROP, {NAMES[cap]})")


def keep_caps(on: bool) -> None:
    """Keep the permitted set across setuid from root (PR_SET_KEEPCAPS)."""
    _prctl(_PR_SET_KEEPCAPS, int(on), what="prctl(PR_SET_KEEPCAPS)")


def set_sets(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) with _LINUX_CAPABILITY_VERSION_3 for this thread."""
    hdr = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = cabi.array(_Data, 2)
    for i in (0, 1):
        shift = 32 * i
        data[i].effective = effective >> shift & 0xFFFFFFFF
        data[i].permitted = permitted >> shift & 0xFFFFFFFF
        data[i].inheritable = inheritable >> shift & 0xFFFFFFFF
    if _libc("capset")(cabi.byref(hdr), data) < 0:
        raise SystemFailure(f"capset: {_strerror(cabi.errno())}")


def raise_ambient(ambient: int, permitted: int, inheritable: int) -> None:
    """Clear the ambient set, then raise each cap of ``ambient`` the kernel allows.

    Like runc, a cap missing from permitted or inheritable is skipped, not an error:
    ``runc spec`` itself emits ambient caps without inheritable ones.
    """
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, what="prctl(PR_CAP_AMBIENT)")
    for cap in range(last_cap() + 1):
        if ambient >> cap & 1 and permitted >> cap & 1 and inheritable >> cap & 1:
            _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, cap,
                   what=f"prctl(PR_CAP_AMBIENT_RAISE, {NAMES[cap]})")


def apply_process_capabilities(
    caps: Mapping[str, object] | None,
    switch_user: Callable[[], None] | None = None,
) -> None:
    """Give this process the OCI ``process.capabilities`` sets (None: no capabilities).

    Call it in the container init as root, after mounts and pivot_root, instead of
    calling setgroups/setgid/setuid yourself: pass them as ``switch_user``, which runs
    between dropping the bounding set and setting the other sets, with keep-caps on so
    the permitted set survives the uid change. Load a seccomp filter after this call
    when noNewPrivileges is set, before it otherwise (it needs CAP_SYS_ADMIN then).
    """
    sets = _sets_of(caps)
    drop_bounding(sets["bounding"])
    if switch_user is not None:
        keep_caps(True)
        switch_user()
        keep_caps(False)
    set_sets(sets["effective"], sets["permitted"], sets["inheritable"])
    raise_ambient(sets["ambient"], sets["permitted"], sets["inheritable"])
