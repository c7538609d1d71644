"""runtime/cabi: libc calls through ``_ctypes`` behave as ``ctypes`` calls would."""

from __future__ import annotations

import errno
import os

import pytest

from dockyard.runtime import cabi, capabilities, syscalls


def test_errno_is_captured_and_raised_with_the_object() -> None:
    with pytest.raises(OSError) as info:
        syscalls.mount(None, "/nonexistent-dockyard-cabi", None, syscalls.MS_PRIVATE)
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == "/nonexistent-dockyard-cabi"


def test_results_are_python_ints_and_unsigned_args_pass_whole() -> None:
    getpid = cabi.libc("getpid")
    assert getpid() == os.getpid()
    # PR_GET_DUMPABLE (3): an int result; PR_CAPBSET_READ (23) of cap 40 and 63
    assert syscalls.prctl(3) in (0, 1, 2)
    assert syscalls.prctl(23, 0) == 1
    with pytest.raises(OSError) as info:
        syscalls.prctl(23, 1 << 40)  # no such capability: the whole 64-bit value arrived
    assert info.value.errno == errno.EINVAL


def test_structures_and_arrays() -> None:
    eff, prm, inh = capabilities.get_sets()
    with open("/proc/self/status") as f:
        status = dict(line.split(":\t", 1) for line in f if ":\t" in line)
    assert eff == int(status["CapEff"], 16)
    assert prm == int(status["CapPrm"], 16)
    assert inh == int(status["CapInh"], 16)
    arr = cabi.array(cabi.U64, 3)
    assert list(arr) == [0, 0, 0] and cabi.sizeof(arr) == 24


def test_fs_type_and_openat2() -> None:
    fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert syscalls.fs_type(fd) == syscalls.PROC_SUPER_MAGIC
        inner = syscalls.openat2(fd, "self/status", os.O_RDONLY,
                                 resolve=syscalls.RESOLVE_NO_MAGICLINKS)
        os.close(inner)
        with pytest.raises(OSError) as info:
            syscalls.openat2(fd, "self/exe", os.O_RDONLY, resolve=syscalls.RESOLVE_NO_MAGICLINKS)
        assert info.value.errno == errno.ELOOP
    finally:
        os.close(fd)


def test_launcher_prefers_the_distribution_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from dockyard.runtime.launcher import launcher_text, runtime_python

    monkeypatch.delenv("DOCKYARD_RUNTIME_PYTHON", raising=False)
    system = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"
    expected = system if os.access(system, os.X_OK) else sys.executable
    assert runtime_python() == expected
    assert launcher_text().startswith(f"#!{expected} -SI\n")
    monkeypatch.setenv("DOCKYARD_RUNTIME_PYTHON", "/opt/py/bin/python3")
    assert launcher_text().startswith("#!/opt/py/bin/python3 -SI\n")
    assert launcher_text("/x/python").startswith("#!/x/python -SI\n")
