"""Seccomp: compile an OCI ``linux.seccomp`` section to classic BPF with libseccomp,
and load it with seccomp(2).

Compiling and loading are separate (crun's idea): the parent compiles once, the
result is cached in memory and optionally on disk, keyed by the section's exact
canonical text, and the container init only loads the bytes. Deny-by-default
programs get runc's ENOSYS preamble for syscalls newer than the profile. Only
``_ctypes`` (``runtime/cabi``) and libseccomp are used.

When to load: with ``noNewPrivileges`` the init sets PR_SET_NO_NEW_PRIVS and loads
the filter as the last step before execve; without it, loading needs CAP_SYS_ADMIN,
so the filter goes in before the capabilities are dropped (and must allow the calls
the init still makes: Docker's default profile does).
"""

from __future__ import annotations

import errno as errno_mod
import os
import struct

from dockyard.errors import InvalidConfig, SystemFailure
from dockyard.runtime import cabi

TYPE_CHECKING = False  # typing, json, hashlib, platform: milliseconds per start

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "ACTIONS",
    "ARCHITECTURES",
    "FLAGS",
    "OPERATORS",
    "compile_filter",
    "filter_flags",
    "load_filter",
]

# OCI action name -> libseccomp action value (errno/trace data is or-ed in).
ACTIONS: dict[str, int] = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
_WITH_DATA = {"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"}
OPERATORS: dict[str, int] = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}
# OCI architecture -> libseccomp's name for it.
ARCHITECTURES: dict[str, str] = {
    f"SCMP_ARCH_{n.upper()}": n for n in (
        "x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32", "mipsel",
        "mipsel64", "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc",
        "parisc64", "riscv64", "loongarch64")
}
FLAGS: dict[str, int] = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1,
    "SECCOMP_FILTER_FLAG_LOG": 2,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
    "SECCOMP_FILTER_FLAG_TSYNC_ESRCH": 16,
}
# Real syscalls that some libseccomp releases do not know by name (newer than their
# table, or of one architecture only). A profile naming them (Docker's does) skips
# them instead of failing, as runc does: the default action applies to them.
_NEWER_SYSCALLS = frozenset({
    "cachestat", "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait",
    "futex_requeue", "statmount", "listmount", "lsm_get_self_attr", "lsm_set_self_attr",
    "lsm_list_modules", "mseal", "setxattrat", "getxattrat", "listxattrat",
    "removexattrat", "open_tree_attr", "file_getattr", "file_setattr", "uretprobe",
    "riscv_hwprobe",
})
_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277, "riscv64": 277, "s390x": 348,
                "ppc64le": 358, "i686": 354, "armv7l": 383, "loongarch64": 277}
_SECCOMP_SET_MODE_FILTER = 1
_NR_SCMP_ERROR = -1
_ATTR_CTL_NNP = 3
# Canonical text of a section -> its program; exact keys, so no collision is possible.
_MEMORY_CACHE: dict[str, bytes] = {}
_MEMORY_CACHE_SIZE = 16
_DISK_CACHE_SIZE = 64


class _ArgCmp(cabi.Structure):  # type: ignore[misc]
    _fields_ = [("arg", cabi.UInt), ("op", cabi.Int), ("datum_a", cabi.U64),
                ("datum_b", cabi.U64)]


class _SockFprog(cabi.Structure):  # type: ignore[misc]
    _fields_ = [("len", cabi.UShort), ("filter", cabi.VoidP)]


class _Libseccomp:
    """The libseccomp functions used here, declared once."""

    def __init__(self) -> None:
        def f(name: str, restype: Any = cabi.Int, *args: Any) -> Any:
            return cabi.function(name, restype, args, "libseccomp.so.2")

        vp, u32, i, ccp = cabi.VoidP, cabi.U32, cabi.Int, cabi.CharP
        self.seccomp_init = f("seccomp_init", vp, u32)
        self.seccomp_release = f("seccomp_release", i, vp)
        self.seccomp_arch_add = f("seccomp_arch_add", i, vp, u32)
        self.seccomp_arch_resolve_name = f("seccomp_arch_resolve_name", u32, ccp)
        self.seccomp_syscall_resolve_name = f("seccomp_syscall_resolve_name", i, ccp)
        self.seccomp_syscall_resolve_name_arch = f("seccomp_syscall_resolve_name_arch", i,
                                                   u32, ccp)
        self.seccomp_arch_native = f("seccomp_arch_native", u32)
        self.seccomp_rule_add_array = f("seccomp_rule_add_array", i, vp, u32, i,
                                        cabi.UInt, vp)
        self.seccomp_attr_set = f("seccomp_attr_set", i, vp, i, u32)
        self.seccomp_export_bpf = f("seccomp_export_bpf", i, vp, i)
        self.seccomp_version = f("seccomp_version", vp)


_LIB: list[_Libseccomp] = []


def _lib() -> _Libseccomp:
    if _LIB:
        return _LIB[0]
    try:
        lib = _Libseccomp()
    except OSError as e:
        raise SystemFailure(f"seccomp: cannot load libseccomp.so.2: {e}") from None
    _LIB.append(lib)
    return lib


def _libseccomp_version() -> str:
    v = cabi.array_type(cabi.UInt, 3).from_address(_lib().seccomp_version())
    return f"{v[0]}.{v[1]}.{v[2]}"


def _errno_of(entry: Mapping[str, Any], key: str, field: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise InvalidConfig(f"{field}.{key}: must be an errno number, got {value!r}")
    return value


def _action(name: object, errno_ret: int | None, field: str) -> int:
    if name == "SCMP_ACT_NOTIFY":
        raise InvalidConfig(f"{field}: SCMP_ACT_NOTIFY is not supported (no seccomp agent)")
    if not isinstance(name, str) or name not in ACTIONS:
        raise InvalidConfig(f"{field}: unknown seccomp action: {name}")
    if name in _WITH_DATA:
        return ACTIONS[name] | (errno_mod.EPERM if errno_ret is None else errno_ret)
    if errno_ret is not None:
        raise InvalidConfig(f"{field}: errnoRet is only allowed with SCMP_ACT_ERRNO or "
                            f"SCMP_ACT_TRACE, not {name}")
    return ACTIONS[name]


def filter_flags(section: Mapping[str, Any]) -> int:
    """The seccomp(2) flags the section's ``flags`` ask for; unknown ones are refused."""
    flags = 0
    for name in section.get("flags") or []:
        if name == "SECCOMP_FILTER_FLAG_NEW_LISTENER":
            raise InvalidConfig("linux.seccomp.flags: SECCOMP_FILTER_FLAG_NEW_LISTENER is "
                                "not supported (no seccomp agent)")
        if name not in FLAGS:
            raise InvalidConfig(f"linux.seccomp.flags: unknown flag: {name}")
        flags |= FLAGS[name]
    return flags


def _check_section(section: object) -> Mapping[str, Any]:
    if not isinstance(section, dict):
        raise InvalidConfig("linux.seccomp: must be an object")
    if section.get("listenerPath") or section.get("listenerMetadata"):
        raise InvalidConfig("linux.seccomp.listenerPath: seccomp agents are not supported")
    if "defaultAction" not in section:
        raise InvalidConfig("linux.seccomp.defaultAction: missing")
    filter_flags(section)
    return section


def _conditions(args: object, field: str) -> list[list[_ArgCmp]]:
    """The argument conditions of one syscall entry, as groups added as one rule each.

    Conditions on different arguments are and-ed in one rule; libseccomp cannot and
    two conditions on the same argument, so (like runc) those become separate rules.
    """
    if args is None:
        return [[]]
    if not isinstance(args, list):
        raise InvalidConfig(f"{field}.args: must be a list")
    conds: list[_ArgCmp] = []
    for j, arg in enumerate(args):
        where = f"{field}.args[{j}]"
        if not isinstance(arg, dict):
            raise InvalidConfig(f"{where}: must be an object")
        index, op = arg.get("index"), arg.get("op")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 5:
            raise InvalidConfig(f"{where}.index: must be 0 to 5, got {index!r}")
        if not isinstance(op, str) or op not in OPERATORS:
            raise InvalidConfig(f"{where}.op: unknown seccomp operator: {op}")
        values = []
        for key in ("value", "valueTwo"):
            v = arg.get(key, 0)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**64:
                raise InvalidConfig(f"{where}.{key}: must be an unsigned 64-bit integer")
            values.append(v)
        conds.append(_ArgCmp(index, OPERATORS[op], values[0], values[1]))
    indexes = [c.arg for c in conds]
    if len(set(indexes)) != len(indexes):
        return [[c] for c in conds]
    return [conds]


def _resolve(name: object, field: str) -> int:
    if not isinstance(name, str) or not name:
        raise InvalidConfig(f"{field}: syscall names must be non-empty strings")
    nr = int(_lib().seccomp_syscall_resolve_name(name.encode()))
    if nr == _NR_SCMP_ERROR:
        if name in _NEWER_SYSCALLS:
            return _NR_SCMP_ERROR
        raise InvalidConfig(f"{field}: unknown syscall: {name}")
    return nr


def _build(ctx: int, section: Mapping[str, Any], default: int) -> None:
    lib = _lib()
    for arch in section.get("architectures") or []:
        if not isinstance(arch, str) or arch not in ARCHITECTURES:
            raise InvalidConfig(f"linux.seccomp.architectures: unknown architecture: {arch}")
        token = lib.seccomp_arch_resolve_name(ARCHITECTURES[arch].encode())
        if token == 0:
            raise InvalidConfig(f"linux.seccomp.architectures: not supported by libseccomp "
                                f"{_libseccomp_version()}: {arch}")
        rc = lib.seccomp_arch_add(ctx, token)
        if rc == -errno_mod.EDOM:
            raise InvalidConfig(f"linux.seccomp.architectures: {arch} cannot share a filter "
                                f"with this machine's architecture (byte order differs)")
        if rc < 0 and rc != -errno_mod.EEXIST:
            raise SystemFailure(f"seccomp: cannot add architecture {arch}: "
                                f"{os.strerror(-rc).lower()}")
    entries = section.get("syscalls") or []
    if not isinstance(entries, list):
        raise InvalidConfig("linux.seccomp.syscalls: must be a list")
    for i, entry in enumerate(entries):
        field = f"linux.seccomp.syscalls[{i}]"
        if not isinstance(entry, dict):
            raise InvalidConfig(f"{field}: must be an object")
        names = entry.get("names")
        if not isinstance(names, list) or not names:
            raise InvalidConfig(f"{field}.names: must be a non-empty list")
        action = _action(entry.get("action"), _errno_of(entry, "errnoRet", field),
                         f"{field}.action")
        groups = _conditions(entry.get("args"), field)
        for name in names:
            nr = _resolve(name, f"{field}.names")
            if action == default or nr == _NR_SCMP_ERROR:
                continue  # libseccomp refuses rules that repeat the default action
            for group in groups:
                arr = cabi.array(_ArgCmp, len(group), *group) if group else None
                rc = lib.seccomp_rule_add_array(ctx, action, nr, len(group), arr)
                if rc < 0:
                    raise InvalidConfig(f"{field}: libseccomp refused the rule for {name}: "
                                        f"{os.strerror(-rc).lower()}")


def _compile(section: Mapping[str, Any]) -> bytes:
    lib = _lib()
    default = _action(section.get("defaultAction"),
                      _errno_of(section, "defaultErrnoRet", "linux.seccomp"),
                      "linux.seccomp.defaultAction")
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise SystemFailure("seccomp: seccomp_init failed")
    fd = -1
    try:
        # no_new_privs is the init's decision (process.noNewPrivileges), not libseccomp's.
        lib.seccomp_attr_set(ctx, _ATTR_CTL_NNP, 0)
        _build(ctx, section, default)
        fd = os.memfd_create("dockyard-seccomp", os.MFD_CLOEXEC)
        rc = lib.seccomp_export_bpf(ctx, fd)
        if rc < 0:
            raise SystemFailure(f"seccomp: export failed: {os.strerror(-rc).lower()}")
        size = os.lseek(fd, 0, os.SEEK_END)
        return _enosys_preamble(section, default) + os.pread(fd, size, 0)
    finally:
        if fd >= 0:
            os.close(fd)
        lib.seccomp_release(ctx)


# Classic BPF words for the ENOSYS preamble (linux/filter.h, linux/seccomp.h).
_LD_ABS, _JEQ, _JGT, _JSET, _JA, _RET = 0x20, 0x15, 0x25, 0x45, 0x05, 0x06
_RET_ERRNO = 0x00050000
_X86_64, _X32 = 0xC000003E, 0x4000003E  # audit arch of x86_64; libseccomp's x32 token
_X32_BIT = 0x40000000


def _enosys_preamble(section: Mapping[str, Any], default: int) -> bytes:
    """Instructions answering ENOSYS for syscalls newer than any the profile names.

    runc patches its filters the same way: a deny-by-default profile written before a
    syscall existed would otherwise answer EPERM, and libc only falls back to older
    calls on ENOSYS. Per architecture, numbers above the largest one the profile
    names get ENOSYS; everything else goes on to libseccomp's program unchanged.
    """
    if default in (ACTIONS["SCMP_ACT_ALLOW"], ACTIONS["SCMP_ACT_LOG"]):
        return b""
    lib = _lib()
    names = {n for e in section.get("syscalls") or [] for n in e.get("names") or []}
    tokens = [int(lib.seccomp_arch_native())]
    for arch in section.get("architectures") or []:
        token = int(lib.seccomp_arch_resolve_name(ARCHITECTURES[arch].encode()))
        if token not in tokens and token != _X32:  # x32 shares x86_64's audit arch
            tokens.append(token)
    blocks: list[tuple[int, int]] = []
    for token in tokens:
        nrs = [int(lib.seccomp_syscall_resolve_name_arch(token, n.encode())) for n in names]
        known = [nr for nr in nrs if nr >= 0]
        if known:
            blocks.append((token, max(known)))
    if not blocks:
        return b""
    # (code, jt, jf, k) with jt/jf as targets: "next" block, "enosys", or 0.
    code: list[tuple[int, object, object, int]] = []
    for i, (token, top) in enumerate(blocks):
        nxt = ("block", i + 1)
        code += [(_LD_ABS, 0, 0, 4), (_JEQ, 0, nxt, token), (_LD_ABS, 0, 0, 0)]
        if token == _X86_64:
            code.append((_JSET, nxt, 0, _X32_BIT))
        code.append((_JGT, "enosys", nxt, top))
    starts: dict[object, int] = {}
    pc = 0
    for i, (token, _) in enumerate(blocks):
        starts[("block", i)] = pc
        pc += 5 if token == _X86_64 else 4
    starts[("block", len(blocks))] = pc  # the JA over the RET
    starts["enosys"] = pc + 1
    out = bytearray()
    for pc, (op, jt, jf, k) in enumerate(code):
        t = starts[jt] - pc - 1 if jt else 0
        f = starts[jf] - pc - 1 if jf else 0
        out += struct.pack("=HBBI", op, t, f, k)
    out += struct.pack("=HBBI", _JA, 0, 0, 1)
    out += struct.pack("=HBBI", _RET, 0, 0, _RET_ERRNO | errno_mod.ENOSYS)
    return bytes(out)


def _canonical(value: object) -> str:
    """A text that is equal exactly for equal JSON values (dict order ignored)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_canonical(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    return repr(value)


def _disk_name(text: bytes) -> str:
    import zlib  # a checksum names the file; hashlib would load OpenSSL (~2 ms)

    return f"{zlib.crc32(text):08x}{len(text):06x}.bpf"


def _trusted(cache_dir: str) -> bool:
    """Only a directory that only we can write may feed filters back to us."""
    st = os.stat(cache_dir)
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _disk_load(cache_dir: str, name: str, text: bytes) -> bytes | None:
    # A file holds the key text, NUL, the program: comparing the text makes a
    # checksum collision harmless (it is a miss, then an overwrite).
    try:
        if not _trusted(cache_dir):
            return None
        with open(os.path.join(cache_dir, name), "rb") as f:
            data = f.read()
    except OSError:
        return None
    if data[: len(text)] != text or data[len(text): len(text) + 1] != b"\0":
        return None
    bpf = data[len(text) + 1:]
    return bpf if bpf and len(bpf) % 8 == 0 else None


def _disk_store(cache_dir: str, name: str, text: bytes, bpf: bytes) -> None:
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        if not _trusted(cache_dir):
            return
        tmp = os.path.join(cache_dir, f".{name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(text + b"\0" + bpf)
        os.replace(tmp, os.path.join(cache_dir, name))
        entries = [e for e in os.scandir(cache_dir) if e.name.endswith(".bpf")]
        if len(entries) > _DISK_CACHE_SIZE:
            entries.sort(key=lambda e: e.stat().st_mtime)
            for old in entries[: len(entries) - _DISK_CACHE_SIZE]:
                os.unlink(old.path)
    except OSError:
        pass  # the cache is an optimisation; a read-only or racing dir must not fail a start


def compile_filter(section: object, *, cache_dir: str | None = None) -> bytes:
    """Classic BPF for an OCI ``linux.seccomp`` section (``struct sock_filter`` array).

    Results are cached in memory under the section's canonical text, and in
    ``cache_dir`` when given (a file per section holding its text and program; the
    directory must be ours and not group/world-writable), both keyed also by the
    machine and the libseccomp version. A runtime started once per container gains only from the
    disk cache: pass e.g. ``<state root>/seccomp``, or set ``DOCKYARD_SECCOMP_CACHE``
    (used when ``cache_dir`` is None), to skip libseccomp (~10 ms for Docker's
    profile) on every start after the first. Unknown syscalls, actions,
    operators, architectures and flags raise ``InvalidConfig`` naming them.
    """
    checked = _check_section(section)
    if cache_dir is None:
        cache_dir = os.environ.get("DOCKYARD_SECCOMP_CACHE") or None
    key = f"{os.uname().machine}:{_libseccomp_version()}:{_canonical(checked)}"
    hit = _MEMORY_CACHE.pop(key, None)
    if hit is not None:
        _MEMORY_CACHE[key] = hit  # most recently used last
        return hit
    bpf: bytes | None = None
    text = key.encode()
    name = _disk_name(text) if cache_dir is not None else ""
    if cache_dir is not None:
        bpf = _disk_load(cache_dir, name, text)
    if bpf is None:
        bpf = _compile(checked)
        if cache_dir is not None:
            _disk_store(cache_dir, name, text, bpf)
    _MEMORY_CACHE[key] = bpf
    if len(_MEMORY_CACHE) > _MEMORY_CACHE_SIZE:
        del _MEMORY_CACHE[next(iter(_MEMORY_CACHE))]
    return bpf


def load_filter(bpf: bytes, flags: int = 0) -> None:
    """Install ``bpf`` on the calling thread with seccomp(SECCOMP_SET_MODE_FILTER).

    Needs no_new_privs set or CAP_SYS_ADMIN; raises ``SystemFailure`` otherwise.
    """
    if not bpf or len(bpf) % 8 or len(bpf) // 8 > 0xFFFF:
        raise InvalidConfig(f"seccomp: not a classic BPF program ({len(bpf)} bytes)")
    machine = os.uname().machine
    nr = _SYS_SECCOMP.get(machine)
    if nr is None:
        raise SystemFailure(f"seccomp: unsupported machine: {machine}")
    buf = cabi.array_type(cabi.U64, len(bpf) // 8).from_buffer_copy(bpf)  # 8-byte insns
    prog = _SockFprog(len(bpf) // 8, cabi.addressof(buf))
    rc = cabi.libc("syscall", cabi.Long)(
        cabi.Long(nr), cabi.Long(_SECCOMP_SET_MODE_FILTER), cabi.Long(flags),
        cabi.byref(prog))
    if rc != 0:
        err = cabi.errno() if rc < 0 else errno_mod.ESRCH
        hint = (" (set no_new_privs or keep CAP_SYS_ADMIN until the filter is loaded)"
                if err == errno_mod.EACCES else "")
        raise SystemFailure(f"seccomp: cannot load filter: {os.strerror(err).lower()}{hint}")
