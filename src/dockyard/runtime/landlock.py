"""Keep container processes from writing to host files they can only reach through /proc.

CVE-2019-5736 class: the runtime's own processes (the init before it execs, an
``exec`` helper while it joins) run the host's Python interpreter, and a container
process that can open ``/proc/<pid>/exe`` (CAP_SYS_PTRACE, or an entrypoint whose
``#!`` line is ``/proc/self/exe``) could reopen that file for writing once the runtime
has exited, and replace the interpreter every later container start runs as root.
runc re-executes itself from a read-only copy for every container; an interpreter
start costs ~8 ms here, a third of a whole ``run``. Instead, the init and every
``exec``'d process put themselves (and so every process of the container) under a
Landlock domain (Linux 5.19+, ABI 2) in which creating, writing, truncating, renaming
and removing files is allowed only beneath the container's root, and in the files the
runtime hands over as descriptors (stdio, ``--preserve-fds``). ``/proc/<pid>/exe``,
``/proc/<pid>/root`` and ``/proc/<pid>/cwd`` of runtime processes lead outside it, so
writes there fail with EACCES, whoever holds which capabilities. Reading and
executing are untouched. It costs a few system calls.

Landlock forbids mount and pivot_root to the processes it confines, so containers
that may hold CAP_SYS_ADMIN (their bounding set has it; ``make_plan`` decides) are
left without it, as are kernels without Landlock: for them the old protection (a
non-dumpable init) remains.
"""

from __future__ import annotations

import os
import stat

from dockyard.runtime import cabi

__all__ = ["HANDLED", "abi", "confine_writes"]

_SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

WRITE_FILE = 1 << 1
_REMOVE_DIR, _REMOVE_FILE = 1 << 4, 1 << 5
_MAKE = sum(1 << n for n in range(6, 13))  # char, dir, reg, sock, fifo, block, sym
_REFER = 1 << 13  # ABI 2: without it handled, every cross-directory rename fails
TRUNCATE = 1 << 14  # ABI 3
HANDLED = WRITE_FILE | _REMOVE_DIR | _REMOVE_FILE | _MAKE | _REFER


class _RulesetAttr(cabi.Structure):  # type: ignore[misc]
    _fields_ = [("handled_access_fs", cabi.U64)]


class _PathBeneath(cabi.Structure):  # type: ignore[misc]
    _pack_ = 1
    _fields_ = [("allowed_access", cabi.U64), ("parent_fd", cabi.Int)]


_SYSCALL: list[object] = []


def _syscall(*args: int | object) -> int:
    if not _SYSCALL:
        _SYSCALL.append(cabi.libc("syscall", cabi.Long))
    return int(_SYSCALL[0](*args))  # type: ignore[operator]


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where Landlock is missing or disabled."""
    numbers = _SYS.get(os.uname().machine)
    if numbers is None:
        return 0
    ret = _syscall(cabi.Long(numbers[0]), None, cabi.Long(0),
                   cabi.Long(_CREATE_RULESET_VERSION))
    return max(ret, 0)


def confine_writes(root_fd: int, fds: list[int], version: int | None = None) -> bool:
    """Confine this process and its future children: writes only beneath ``root_fd``
    and into the files open at ``fds``. False (nothing done) without Landlock ABI 2.

    Needs CAP_SYS_ADMIN or no_new_privs, so call it before dropping capabilities."""
    version = abi() if version is None else version
    if version < 2:
        return False
    create, add, restrict = _SYS[os.uname().machine]
    handled = HANDLED | (TRUNCATE if version >= 3 else 0)
    attr = _RulesetAttr(handled)
    ruleset = cabi.check(_syscall(cabi.Long(create), cabi.byref(attr),
                                  cabi.Long(cabi.sizeof(attr)), cabi.Long(0)),
                         "landlock_create_ruleset")
    try:
        _allow(add, ruleset, root_fd, handled)
        for fd in fds:
            try:
                mode = os.fstat(fd).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                rights = handled
            elif stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) \
                    or stat.S_ISBLK(mode):
                rights = handled & (WRITE_FILE | TRUNCATE)
            else:
                continue  # sockets: never reopened through /proc
            try:
                _allow(add, ruleset, fd, rights)
            except OSError as exc:
                if exc.errno != 77:  # EBADFD: pipes and other kernel-internal files
                    raise
        cabi.check(_syscall(cabi.Long(restrict), cabi.Long(ruleset), cabi.Long(0)),
                   "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return True


def _allow(add: int, ruleset: int, fd: int, rights: int) -> None:
    rule = _PathBeneath(rights, fd)
    cabi.check(_syscall(cabi.Long(add), cabi.Long(ruleset), cabi.Long(_RULE_PATH_BENEATH),
                        cabi.byref(rule), cabi.Long(0)), f"landlock_add_rule(fd {fd})")
