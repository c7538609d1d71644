"""What Docker gives a container unless told otherwise: capabilities, masked and
read-only paths, and the default seccomp profile as an OCI ``linux.seccomp`` section.

Plain data and pure functions, standard library only. The seccomp rules follow the
behaviour of Docker's default profile (an allow-list with EPERM for everything else,
extra syscalls unlocked by capabilities, per-architecture syscalls, namespace-creating
clone flags refused without CAP_SYS_ADMIN, clone3 answered with ENOSYS so that libc
falls back to clone, where the flags can be checked, no io_uring, no AF_ALG or
AF_VSOCK sockets), as of moby/profiles seccomp v0.2.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_CAP_MASK",
    "MASKED_PATHS",
    "READONLY_PATHS",
    "SECCOMP_ARCHITECTURES",
    "default_seccomp_profile",
    "masked_paths",
]

DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
    "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)
# CapEff of a root process holding exactly DEFAULT_CAPABILITIES.
DEFAULT_CAP_MASK = 0x00000000A80425FB

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
)


def masked_paths(cpus: int = 0) -> list[str]:
    """MASKED_PATHS plus each CPU's thermal_throttle dir (its counters leak host
    activity), for CPUs 0..cpus-1; runtimes skip the ones a host lacks."""
    return [*MASKED_PATHS,
            *(f"/sys/devices/system/cpu/cpu{n}/thermal_throttle" for n in range(cpus))]


READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)

# Machine name (uname -m) -> the native OCI architecture and the ones it can also run.
SECCOMP_ARCHITECTURES: dict[str, tuple[str, ...]] = {
    "x86_64": ("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
    "aarch64": ("SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
    "s390x": ("SCMP_ARCH_S390X", "SCMP_ARCH_S390"),
    "ppc64le": ("SCMP_ARCH_PPC64LE",),
    "riscv64": ("SCMP_ARCH_RISCV64",),
    "mips64": ("SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"),
    "mips64el": ("SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"),
}
# Which machine names count as each family in the arch conditions below.
_FAMILY = {
    "x86_64": {"x86_64"}, "aarch64": {"arm"}, "s390x": {"s390"},
    "ppc64le": {"ppc64le"}, "riscv64": {"riscv64"}, "mips64": set(), "mips64el": set(),
}

# Syscalls any container may make, grouped by what they touch.
_ALWAYS = """
    access chdir chmod chown chown32 close close_range copy_file_range creat dup dup2
    dup3 faccessat faccessat2 fadvise64 fadvise64_64 fallocate fchdir fchmod fchmodat
    fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr
    flock fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
    ftruncate ftruncate64 futimesat getcwd getdents getdents64 getxattr lchown lchown32
    lgetxattr link linkat listxattr llistxattr _llseek lremovexattr lseek lsetxattr
    lstat lstat64 mkdir mkdirat mknod mknodat name_to_handle_at newfstatat open openat
    openat2 pread64 preadv preadv2 pwrite64 pwritev pwritev2 read readahead readlink
    readlinkat readv removexattr rename renameat renameat2 rmdir sendfile sendfile64
    setxattr splice stat stat64 statfs statfs64 statx symlink symlinkat sync
    sync_file_range syncfs tee truncate truncate64 umask unlink unlinkat utime
    utimensat utimensat_time64 utimes vmsplice write writev
    fanotify_mark inotify_add_watch inotify_init inotify_init1 inotify_rm_watch
    io_cancel io_destroy io_getevents io_pgetevents io_pgetevents_time64 io_setup
    io_submit ioctl ioprio_get ioprio_set cachestat getxattrat setxattrat listxattrat
    removexattrat statmount listmount
    epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
    epoll_wait epoll_wait_old eventfd eventfd2 _newselect poll ppoll ppoll_time64
    pselect6 pselect6_time64 select
    execve execveat exit exit_group fork vfork wait4 waitid waitpid getpid getppid
    gettid getpgid getpgrp getsid setpgid setsid getpriority setpriority getcpu
    getrusage getrlimit setrlimit ugetrlimit prlimit64 prctl capget capset
    get_robust_list set_robust_list set_tid_address get_thread_area set_thread_area
    restart_syscall rseq seccomp uname sysinfo
    pidfd_open pidfd_send_signal process_mrelease kill tgkill tkill
    landlock_add_rule landlock_create_ruleset landlock_restrict_self
    sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
    sched_get_priority_min sched_getscheduler sched_rr_get_interval
    sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
    sched_setscheduler sched_yield
    getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32
    getresgid getresgid32 getresuid getresuid32 getuid getuid32 setfsgid setfsgid32
    setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setregid setregid32
    setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setuid setuid32
    brk madvise membarrier memfd_create memfd_secret mincore mlock mlock2 mlockall
    mmap mmap2 mprotect mremap msync munlock munlockall munmap remap_file_pages
    pkey_alloc pkey_free pkey_mprotect map_shadow_stack mseal
    futex futex_time64 futex_waitv futex_wait futex_wake futex_requeue
    alarm getitimer setitimer pause nanosleep clock_nanosleep clock_nanosleep_time64
    clock_adjtime clock_adjtime64 adjtimex clock_getres clock_getres_time64
    clock_gettime clock_gettime64 gettimeofday time times timer_create timer_delete
    timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
    timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
    rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
    rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack
    signalfd signalfd4 sigprocmask sigreturn
    accept accept4 bind connect getpeername getsockname getsockopt listen recv
    recvfrom recvmmsg recvmmsg_time64 recvmsg send sendmmsg sendmsg sendto setsockopt
    shutdown socketcall socketpair pipe pipe2 getrandom
    ipc mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
    mq_timedsend mq_timedsend_time64 mq_unlink msgctl msgget msgrcv msgsnd semctl
    semget semop semtimedop semtimedop_time64 shmat shmctl shmdt shmget
"""

# Capability -> syscalls it unlocks (the checks the kernel makes stay in place).
_BY_CAPABILITY: dict[str, str] = {
    "CAP_DAC_READ_SEARCH": "open_by_handle_at",
    "CAP_SYS_ADMIN": """bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick
        lookup_dcookie lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount
        mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd
        setdomainname sethostname setns syslog umount umount2 unshare""",
    "CAP_SYS_BOOT": "reboot",
    "CAP_SYS_CHROOT": "chroot",
    "CAP_SYS_MODULE": "delete_module init_module finit_module",
    "CAP_SYS_PACCT": "acct",
    "CAP_SYS_PTRACE": "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev"
                      " ptrace",
    "CAP_SYS_RAWIO": "iopl ioperm",
    "CAP_SYS_TIME": "settimeofday stime clock_settime clock_settime64",
    "CAP_SYS_TTY_CONFIG": "vhangup",
    "CAP_SYS_NICE": "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    "CAP_SYSLOG": "syslog",
    "CAP_BPF": "bpf",
    "CAP_PERFMON": "perf_event_open",
}

# Family -> syscalls only that family has.
_BY_FAMILY: dict[str, str] = {
    "x86_64": "arch_prctl modify_ldt uretprobe",
    "arm": "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush"
           " set_tls",
    "ppc64le": "sync_file_range2 swapcontext",
    "s390": "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
    "riscv64": "riscv_flush_icache riscv_hwprobe",
}

# personality(2) values a container may set: Linux, its 32-bit variant, the two with
# UNAME26, and the 0xffffffff query.
_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
_AF_ALG, _AF_VSOCK = 38, 40
# CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP.
_NAMESPACE_FLAGS = 0x7E020000
_EPERM = 1
_ENOSYS = 38


class _Rule(NamedTuple):
    names: list[str]
    args: list[dict[str, Any]] | None = None
    errno: int | None = None


def _allow(names: str | list[str], args: list[dict[str, Any]] | None = None) -> _Rule:
    return _Rule(names.split() if isinstance(names, str) else names, args)


def _arg(index: int, value: int, op: str) -> dict[str, Any]:
    return {"index": index, "value": value, "valueTwo": 0, "op": op}


def _rules(caps: set[str], families: set[str]) -> list[_Rule]:
    rules = [_allow(_ALWAYS)]
    # Every socket family but AF_ALG (kernel crypto, a recurring source of bugs) and
    # AF_VSOCK (talks to the hypervisor).
    rules += [_allow(["socket"], [_arg(0, _AF_ALG, "SCMP_CMP_LT")]),
              _allow(["socket"], [_arg(0, _AF_ALG + 1, "SCMP_CMP_EQ")]),
              _allow(["socket"], [_arg(0, _AF_VSOCK, "SCMP_CMP_GT")])]
    rules += [_allow(["personality"], [_arg(0, p, "SCMP_CMP_EQ")]) for p in _PERSONALITIES]
    # Kernels since 4.8 check ptrace against seccomp properly, so it is safe for all.
    rules.append(_allow("process_vm_readv process_vm_writev ptrace"))
    for family in sorted(families):
        if family in _BY_FAMILY:
            rules.append(_allow(_BY_FAMILY[family]))
    for cap, names in _BY_CAPABILITY.items():
        if cap in caps:
            rules.append(_allow(names))
    if "CAP_SYS_ADMIN" not in caps:
        # clone without namespace flags only; s390 swaps clone's first two arguments.
        flags_arg = 1 if "s390" in families else 0
        rules.append(_allow(["clone"], [_arg(flags_arg, _NAMESPACE_FLAGS,
                                             "SCMP_CMP_MASKED_EQ")]))
        # clone3 passes its flags in memory, where seccomp cannot look: say ENOSYS so
        # that glibc falls back to clone.
        rules.append(_Rule(["clone3"], None, _ENOSYS))
    return rules


def default_seccomp_profile(
    capabilities: Iterable[str] = DEFAULT_CAPABILITIES, arch: str = "x86_64"
) -> dict[str, Any]:
    """Docker's default seccomp profile for a container with ``capabilities`` (its
    bounding set) on machine ``arch`` (``uname -m``), as an OCI ``linux.seccomp`` dict.
    """
    if arch not in SECCOMP_ARCHITECTURES:
        raise ValueError(f"unsupported architecture for the default seccomp profile: {arch}")
    caps = set(capabilities)
    syscalls: list[dict[str, Any]] = []
    for rule in _rules(caps, _FAMILY[arch] | {arch}):
        entry: dict[str, Any] = {"names": rule.names}
        if rule.errno is None:
            entry["action"] = "SCMP_ACT_ALLOW"
        else:
            entry["action"] = "SCMP_ACT_ERRNO"
            entry["errnoRet"] = rule.errno
        if rule.args:
            entry["args"] = rule.args
        syscalls.append(entry)
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": _EPERM,
        "architectures": list(SECCOMP_ARCHITECTURES[arch]),
        "syscalls": syscalls,
    }
