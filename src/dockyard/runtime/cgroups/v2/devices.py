"""v2 device rules: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup.

cgroup v2 has no devices.allow/deny files; the kernel asks a BPF program attached to
the cgroup instead. The program is generated here from the OCI rules with the same
meaning as v1's files: rules apply in order, later ones override earlier ones for the
access bits (r, w, m) they name, and an access nobody ruled on is allowed (a new v1
cgroup starts from its parent's allow-all). Each requested bit is decided on its own,
so ``allow c 1:3 r`` plus ``allow c 1:3 w`` permits opening 1:3 read-write, as in v1.

Loaded with bpf(2) through ctypes; re-applying attaches the new program before
detaching the old ones, so there is no moment without a filter.
"""

from __future__ import annotations

import ctypes
import os
import struct

from dockyard.errors import SystemFailure
from dockyard.runtime.cgroups.devices_rules import parse_device_rules

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from dockyard.runtime.cgroups.devices_rules import DeviceRule

__all__ = ["apply", "attached_programs", "program"]

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "s390x": 351, "ppc64le": 361,
            "loongarch64": 280}
_PROG_LOAD, _PROG_ATTACH, _PROG_DETACH, _PROG_GET_FD_BY_ID, _PROG_QUERY = 5, 8, 9, 13, 16
_PROG_TYPE_CGROUP_DEVICE = 15
_CGROUP_DEVICE = 6  # attach type
_F_ALLOW_MULTI = 2
_DEV_BLOCK, _DEV_CHAR = 1, 2
_ACC = {"m": 1, "r": 2, "w": 4}

# Instruction classes and operations (linux/bpf.h) used by the generator.
_LDX_MEM_W = 0x61
_ALU32_AND_K = 0x54
_ALU32_RSH_K = 0x74
_ALU64_AND_K = 0x57
_MOV64_K = 0xB7
_MOV64_X = 0xBF
_JEQ_K = 0x15
_JNE_K = 0x55
_JA = 0x05
_EXIT = 0x95


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def program(rules: list[DeviceRule]) -> bytes:
    """The eBPF program (as raw instructions) enforcing ``rules``; r0 = 1 allows."""
    # Instructions as (code, dst, src, label or offset, imm); labels resolved below.
    code: list[tuple[int, int, int, int | tuple[object, ...], int]] = [
        (_LDX_MEM_W, 2, 1, 0, 0), (_ALU32_AND_K, 2, 0, 0, 0xFFFF),  # r2 = device type
        (_LDX_MEM_W, 3, 1, 0, 0), (_ALU32_RSH_K, 3, 0, 0, 16),  # r3 = access bits
        (_LDX_MEM_W, 4, 1, 4, 0), (_LDX_MEM_W, 5, 1, 8, 0),  # r4 = major, r5 = minor
    ]
    labels: dict[tuple[object, ...], int] = {}
    for bit_name, bit in _ACC.items():
        done: tuple[object, ...] = ("bit-done", bit_name)
        code += [(_MOV64_X, 6, 3, 0, 0), (_ALU64_AND_K, 6, 0, 0, bit),
                 (_JEQ_K, 6, 0, done, 0)]  # bit not requested: nothing to decide
        for i, rule in reversed(list(enumerate(rules))):
            if rule.type != "a" and bit_name not in rule.access:
                continue
            nxt: tuple[object, ...] = ("rule-next", bit_name, i)
            if rule.type != "a":
                kind = _DEV_CHAR if rule.type == "c" else _DEV_BLOCK
                code.append((_JNE_K, 2, 0, nxt, kind))
                if rule.major is not None:
                    code.append((_JNE_K, 4, 0, nxt, rule.major))
                if rule.minor is not None:
                    code.append((_JNE_K, 5, 0, nxt, rule.minor))
            if rule.allow:
                code.append((_JA, 0, 0, done, 0))
            else:
                code += [(_MOV64_K, 0, 0, 0, 0), (_EXIT, 0, 0, 0, 0)]
            labels[nxt] = len(code)
        labels[done] = len(code)  # no rule on this bit: allowed, as v1 starts
    code += [(_MOV64_K, 0, 0, 0, 1), (_EXIT, 0, 0, 0, 0)]
    out = bytearray()
    for pc, (op, dst, src, target, imm) in enumerate(code):
        off = labels[target] - pc - 1 if isinstance(target, tuple) else target
        out += _insn(op, dst, src, off, imm)
    return bytes(out)


def _bpf(cmd: int, attr: bytearray) -> int:
    nr = _SYS_BPF.get(os.uname().machine)
    if nr is None:
        raise SystemFailure(f"bpf: unsupported machine: {os.uname().machine}")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    buf = (ctypes.c_char * len(attr)).from_buffer(attr)
    rc = int(libc.syscall(ctypes.c_long(nr), ctypes.c_long(cmd), buf,
                          ctypes.c_long(len(attr))))
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return rc


def _load(insns: bytes) -> int:
    insn_buf = ctypes.create_string_buffer(insns, len(insns))
    license_buf = ctypes.create_string_buffer(b"Apache-2.0")
    log = ctypes.create_string_buffer(65536)
    attr = bytearray(128)
    struct.pack_into("<IIQQIIQ", attr, 0, _PROG_TYPE_CGROUP_DEVICE, len(insns) // 8,
                     ctypes.addressof(insn_buf), ctypes.addressof(license_buf),
                     1, len(log), ctypes.addressof(log))
    try:
        return _bpf(_PROG_LOAD, attr)
    except OSError as e:
        detail = log.value.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise SystemFailure(f"bpf: cannot load the device filter: "
                            f"{os.strerror(e.errno or 0).lower()} {detail[0]}".rstrip())


def attached_programs(cgroup_fd: int) -> list[int]:
    """Ids of the device programs attached to the cgroup open at ``cgroup_fd``."""
    ids = (ctypes.c_uint32 * 64)()
    attr = bytearray(128)
    struct.pack_into("<IIIIQI", attr, 0, cgroup_fd, _CGROUP_DEVICE, 0, 0,
                     ctypes.addressof(ids), 64)
    _bpf(_PROG_QUERY, attr)
    count = struct.unpack_from("<I", attr, 24)[0]
    return [ids[i] for i in range(min(count, 64))]


def _detach(cgroup_fd: int, prog_id: int) -> None:
    attr = bytearray(128)
    struct.pack_into("<I", attr, 0, prog_id)
    try:
        prog_fd = _bpf(_PROG_GET_FD_BY_ID, attr)
    except OSError:
        return  # already gone
    try:
        attr = bytearray(128)
        struct.pack_into("<IIII", attr, 0, cgroup_fd, prog_fd, _CGROUP_DEVICE, 0)
        _bpf(_PROG_DETACH, attr)
    except OSError:
        pass
    finally:
        os.close(prog_fd)


def apply(path: str, resources: Mapping[str, Any]) -> None:
    """Attach a device program built from ``linux.resources.devices`` to ``path``."""
    if resources.get("devices") is None:
        return
    rules = parse_device_rules(resources.get("devices"))
    prog_fd = _load(program(rules))
    try:
        cg_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        os.close(prog_fd)
        raise SystemFailure(f"cgroup {path}: cannot open: {os.strerror(e.errno or 0).lower()}")
    try:
        old = attached_programs(cg_fd)
        attr = bytearray(128)
        struct.pack_into("<IIII", attr, 0, cg_fd, prog_fd, _CGROUP_DEVICE, _F_ALLOW_MULTI)
        try:
            _bpf(_PROG_ATTACH, attr)
        except OSError as e:
            raise SystemFailure(f"cgroup {path}: cannot attach the device filter: "
                                f"{os.strerror(e.errno or 0).lower()}")
        for prog_id in old:
            _detach(cg_fd, prog_id)
    finally:
        os.close(cg_fd)
        os.close(prog_fd)


def stats(path: str, out: dict[str, Any]) -> None:
    """Device programs have no usage figures."""
