"""Seccomp filters loaded by real child processes: Docker's default profile, argument
conditions, errnoRet, kill actions. The children only probe; nothing on the host
changes (mount targets do not exist, reboot gets bad magic numbers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from dockyard.oci.docker_defaults import default_seccomp_profile

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

# The child: optionally set no_new_privs and load the section given as JSON, then run
# the probes named on the command line and print {probe: errno (0 = success)}.
CHILD = r"""
import ctypes, json, os, sys
from dockyard.runtime import seccomp
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
section = json.loads(sys.argv[1])
if section is not None:
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    seccomp.load_filter(seccomp.compile_filter(section), seccomp.filter_flags(section))

def sc(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    if r == 0 and nr == 56:  # a raw clone that got through: we are the copy
        os._exit(0)
    return ctypes.get_errno() if r < 0 else 0

def mount():
    ctypes.set_errno(0)
    r = libc.mount(b"none", b"/nonexistent-dockyard-probe", b"tmpfs", 0, None)
    return ctypes.get_errno() if r < 0 else 0

PROBES = {
    "mount": mount,
    "unshare_user": lambda: sc(272, 0x10000000),
    "clone_newuser": lambda: sc(56, 0x10000000 | 17, 0, 0, 0, 0),
    "clone3": lambda: sc(435, 0, 0),
    "reboot": lambda: sc(169, 0xdead, 0xbeef, 0, 0),
    "fork": lambda: (lambda p: (os._exit(0) if p == 0 else os.waitpid(p, 0)) and 0)(os.fork()),
    "dup1000": lambda: sc(32, 1000),
    "dup999": lambda: sc(32, 999),
    "getprio_1234": lambda: sc(140, 0, 0x1234),
    "getprio_2234": lambda: sc(140, 0, 0x2234),
    "dup2_500": lambda: sc(33, 1, 500),
    "dup2_501": lambda: sc(33, 1, 501),
    "dup2_502": lambda: sc(33, 1, 502),
    "fchdir_700": lambda: sc(81, 700),
    "fchdir_599": lambda: sc(81, 599),
    "getppid": lambda: sc(110),
    "sys500": lambda: sc(500),
    "cachestat": lambda: sc(451, -1, 0, 0, 0),
    "socket_alg": lambda: sc(41, 38, 5, 0),
    "socket_vsock": lambda: sc(41, 40, 1, 0),
    "socket_inet": lambda: sc(41, 2, 1, 0),
    "io_uring_setup": lambda: sc(425, 1, 0),
}
out = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("Seccomp", "NoNewPrivs"):
        out[key] = value.strip()
for name in sys.argv[2:]:
    out[name] = PROBES[name]()
print(json.dumps(out), flush=True)
"""


def _run(section: dict[str, Any] | None, *probes: str) -> tuple[int, dict[str, Any]]:
    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(section), *probes],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else {})


EPERM, ENOENT, EBADF, ESRCH, EINVAL, ENOSYS = 1, 2, 9, 3, 22, 38
DANGEROUS = ("mount", "unshare_user", "clone_newuser", "reboot")


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="probes use x86_64 numbers")
def test_without_a_filter_the_probes_reach_the_kernel() -> None:
    # The control: the same probes unconfined get the kernel's own answers, so the
    # EPERMs below come from the filter.
    rc, got = _run(None, "mount", "reboot", "clone3", "dup1000")
    assert rc == 0
    assert got["Seccomp"] == "0"
    assert got["mount"] == ENOENT
    assert got["reboot"] == EINVAL
    assert got["clone3"] != ENOSYS
    assert got["dup1000"] == EBADF


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="probes use x86_64 numbers")
def test_docker_default_profile_confines() -> None:
    rc, got = _run(default_seccomp_profile(), *DANGEROUS, "clone3", "fork")
    assert rc == 0, got
    assert got["Seccomp"] == "2"
    assert got["NoNewPrivs"] == "1"
    for probe in DANGEROUS:
        assert got[probe] == EPERM, probe
    assert got["clone3"] == ENOSYS  # so libc falls back to clone, which can be checked
    assert got["fork"] == 0


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="probes use x86_64 numbers")
def test_docker_default_profile_sockets_and_io_uring() -> None:
    probes = ("socket_alg", "socket_vsock", "socket_inet", "io_uring_setup")
    rc, free = _run(None, *probes)
    assert rc == 0 and free["socket_inet"] == 0 and free["io_uring_setup"] not in (0, EPERM)
    rc, got = _run(default_seccomp_profile(), *probes)
    assert rc == 0
    assert got == {"Seccomp": "2", "NoNewPrivs": "1", "socket_alg": EPERM,
                   "socket_vsock": EPERM, "socket_inet": 0, "io_uring_setup": EPERM}


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="probes use x86_64 numbers")
def test_default_errno_ret_is_used() -> None:
    profile = default_seccomp_profile()
    profile["defaultErrnoRet"] = 95
    rc, got = _run(profile, "mount", "reboot")
    assert rc == 0 and got["mount"] == 95 and got["reboot"] == 95


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="probes use x86_64 numbers")
def test_argument_conditions_and_errno_ret() -> None:
    section = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [
            {"names": ["dup"], "action": "SCMP_ACT_ERRNO", "errnoRet": 74,
             "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 75,
             "args": [{"index": 1, "value": 0xFF00, "valueTwo": 0x1200,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["dup2"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 1, "value": 500, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 501, "op": "SCMP_CMP_EQ"}]},
            {"names": ["fchdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 76,
             "args": [{"index": 0, "value": 600, "op": "SCMP_CMP_GE"}]},
        ],
    }
    rc, got = _run(section, "dup1000", "dup999", "getprio_1234", "getprio_2234",
                   "dup2_500", "dup2_501", "dup2_502", "fchdir_700", "fchdir_599")
    assert rc == 0, got
    assert got["dup1000"] == 74 and got["dup999"] == EBADF
    assert got["getprio_1234"] == 75 and got["getprio_2234"] == ESRCH
    # Two conditions on one argument are alternatives; no errnoRet means EPERM.
    assert got["dup2_500"] == EPERM and got["dup2_501"] == EPERM and got["dup2_502"] == 0
    assert got["fchdir_700"] == 76 and got["fchdir_599"] == EBADF


def test_kill_process_action() -> None:
    section = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}
    rc, got = _run(section, "getppid")
    assert rc == -signal.SIGSYS
    assert got == {}


def test_loading_without_no_new_privs_or_sys_admin_is_refused() -> None:
    code = ("import ctypes, os\nfrom dockyard.runtime import seccomp\n"
            "bpf = seccomp.compile_filter({'defaultAction': 'SCMP_ACT_ALLOW'})\n"
            "os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)\n"
            "try:\n    seccomp.load_filter(bpf)\nexcept Exception as e:\n    print(e)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.stdout.strip() == ("seccomp: cannot load filter: permission denied (set "
                                "no_new_privs or keep CAP_SYS_ADMIN until the filter is loaded)")


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="probes use x86_64 numbers")
def test_syscalls_newer_than_the_profile_get_enosys() -> None:
    # As runc patches its filters: libc falls back on ENOSYS, not on EPERM.
    rc, got = _run(default_seccomp_profile(), "sys500", "mount", "cachestat")
    assert rc == 0
    assert got["sys500"] == ENOSYS
    assert got["mount"] == EPERM  # named by nobody's rule but older: still refused
    assert got["cachestat"] == EBADF  # in the profile: the kernel itself answers
    # A default-allow filter is not patched: the kernel's own ENOSYS either way.
    rc, got = _run({"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}, "sys500")
    assert rc == 0 and got["sys500"] == ENOSYS
