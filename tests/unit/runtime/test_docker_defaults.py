"""Docker's defaults as data: capabilities, paths, and the default seccomp profile."""

from __future__ import annotations

from typing import Any

import pytest

from dockyard.oci.docker_defaults import (
    DEFAULT_CAP_MASK,
    DEFAULT_CAPABILITIES,
    MASKED_PATHS,
    READONLY_PATHS,
    default_seccomp_profile,
    masked_paths,
)
from dockyard.runtime import capabilities, seccomp

CLONE_NS_FLAGS = 0x7E020000


def _allowed(profile: dict[str, Any]) -> set[str]:
    """Names allowed unconditionally (rules without args)."""
    return {n for r in profile["syscalls"] if r["action"] == "SCMP_ACT_ALLOW"
            and not r.get("args") for n in r["names"]}


def _rules_for(profile: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [r for r in profile["syscalls"] if name in r["names"]]


def test_default_capabilities_are_dockers_14() -> None:
    assert len(DEFAULT_CAPABILITIES) == 14
    assert capabilities.parse(DEFAULT_CAPABILITIES) == DEFAULT_CAP_MASK == 0xA80425FB


def test_paths() -> None:
    for p in ("/proc/kcore", "/proc/keys", "/sys/firmware", "/proc/timer_list",
              "/proc/interrupts", "/sys/devices/virtual/powercap"):
        assert p in MASKED_PATHS
    assert "/proc/sys" in READONLY_PATHS
    assert "/proc/sysrq-trigger" in READONLY_PATHS
    assert not set(MASKED_PATHS) & set(READONLY_PATHS)
    assert masked_paths() == list(MASKED_PATHS)
    assert masked_paths(2)[-2:] == ["/sys/devices/system/cpu/cpu0/thermal_throttle",
                                    "/sys/devices/system/cpu/cpu1/thermal_throttle"]


def test_profile_shape() -> None:
    p = default_seccomp_profile()
    assert p["defaultAction"] == "SCMP_ACT_ERRNO"
    assert p["defaultErrnoRet"] == 1
    assert p["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = _allowed(p)
    assert len(allowed) > 300
    for name in ("read", "write", "execve", "openat", "arch_prctl", "ptrace", "setuid",
                 "capset", "prctl", "seccomp", "futex", "epoll_wait", "mseal", "statmount"):
        assert name in allowed, name
    for name in ("mount", "umount2", "unshare", "setns", "reboot", "kexec_load", "bpf",
                 "init_module", "open_by_handle_at", "swapon", "keyctl", "add_key",
                 "clock_settime", "sethostname", "io_uring_setup", "io_uring_enter",
                 "lsm_set_self_attr", "socket"):
        assert name not in allowed, name


def test_chroot_follows_cap_sys_chroot() -> None:
    assert "chroot" in _allowed(default_seccomp_profile())
    without = [c for c in DEFAULT_CAPABILITIES if c != "CAP_SYS_CHROOT"]
    assert "chroot" not in _allowed(default_seccomp_profile(without))


def test_clone_without_sys_admin_refuses_namespace_flags() -> None:
    p = default_seccomp_profile()
    clone = _rules_for(p, "clone")
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
        {"index": 0, "value": CLONE_NS_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]
    clone3 = _rules_for(p, "clone3")
    assert clone3 == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]


def test_sys_admin_unlocks_mount_clone_and_clone3() -> None:
    p = default_seccomp_profile([*DEFAULT_CAPABILITIES, "CAP_SYS_ADMIN"])
    allowed = _allowed(p)
    for name in ("mount", "umount2", "unshare", "setns", "clone", "clone3", "sethostname"):
        assert name in allowed, name
    assert all(not r.get("args") for r in _rules_for(p, "clone"))
    assert all(r["action"] == "SCMP_ACT_ALLOW" for r in _rules_for(p, "clone3"))


@pytest.mark.parametrize(("cap", "names"), [
    ("CAP_SYS_BOOT", ["reboot"]), ("CAP_SYS_MODULE", ["init_module", "finit_module"]),
    ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd"]), ("CAP_SYS_TIME", ["settimeofday"]),
    ("CAP_SYS_NICE", ["mbind"]), ("CAP_SYSLOG", ["syslog"]), ("CAP_BPF", ["bpf"]),
    ("CAP_PERFMON", ["perf_event_open"]), ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
])
def test_capability_conditional_rules(cap: str, names: list[str]) -> None:
    base = _allowed(default_seccomp_profile())
    more = _allowed(default_seccomp_profile([*DEFAULT_CAPABILITIES, cap]))
    for n in names:
        assert n not in base and n in more, n


def test_arch_conditional_rules() -> None:
    x86 = _allowed(default_seccomp_profile(arch="x86_64"))
    arm = default_seccomp_profile(arch="aarch64")
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert {"arch_prctl", "modify_ldt"} <= x86
    assert "arch_prctl" not in _allowed(arm) and "set_tls" in _allowed(arm)
    s390 = default_seccomp_profile(arch="s390x")
    assert _rules_for(s390, "clone")[0]["args"][0]["index"] == 1
    assert "s390_runtime_instr" in _allowed(s390)
    with pytest.raises(ValueError, match=r"unsupported architecture .*: sparc"):
        default_seccomp_profile(arch="sparc")


def test_socket_refuses_alg_and_vsock_and_personality_is_restricted() -> None:
    p = default_seccomp_profile()
    socket = [r["args"] for r in _rules_for(p, "socket")]
    assert socket == [[{"index": 0, "value": 38, "valueTwo": 0, "op": "SCMP_CMP_LT"}],
                      [{"index": 0, "value": 39, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
                      [{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_GT"}]]
    values = sorted(r["args"][0]["value"] for r in _rules_for(p, "personality"))
    assert values == [0, 8, 0x20000, 0x20008, 0xFFFFFFFF]


def test_no_name_repeats_within_a_rule() -> None:
    for rule in default_seccomp_profile()["syscalls"]:
        assert len(rule["names"]) == len(set(rule["names"]))


@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "ppc64le", "riscv64", "mips64el"])
def test_profile_compiles_with_libseccomp(arch: str) -> None:
    # Every name in each little-endian arch's variant is one libseccomp (or our table)
    # knows; a filter cannot mix byte orders, so big-endian ones are refused clearly.
    bpf = seccomp.compile_filter(default_seccomp_profile(arch=arch))
    assert len(bpf) % 8 == 0 and len(bpf) > 8 * 100


@pytest.mark.parametrize("arch", ["s390x", "mips64"])
def test_big_endian_profile_is_refused_here(arch: str) -> None:
    from dockyard.errors import InvalidConfig

    with pytest.raises(InvalidConfig, match=r"architectures: SCMP_ARCH_\w+ cannot share"):
        seccomp.compile_filter(default_seccomp_profile(arch=arch))
