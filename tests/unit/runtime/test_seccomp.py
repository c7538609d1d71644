"""Compiling OCI seccomp sections: errors that name the culprit, flags, caching."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidConfig
from dockyard.runtime import seccomp


def _section(**over: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                         "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]}
    s.update(over)
    return s


def test_compiles_to_classic_bpf() -> None:
    bpf = seccomp.compile_filter(_section())
    assert len(bpf) % 8 == 0 and len(bpf) >= 8 * 4
    # The first instruction loads the arch field (offset 4) of seccomp_data.
    code, jt, jf, k = int.from_bytes(bpf[0:2], "little"), bpf[2], bpf[3], \
        int.from_bytes(bpf[4:8], "little")
    assert (code, jt, jf, k) == (0x20, 0, 0, 4)


@pytest.mark.parametrize(("section", "message"), [
    (_section(syscalls=[{"names": ["mkdirr"], "action": "SCMP_ACT_ERRNO"}]),
     "linux.seccomp.syscalls[0].names: unknown syscall: mkdirr"),
    (_section(syscalls=[{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                        {"names": ["mount", 5], "action": "SCMP_ACT_ERRNO"}]),
     "linux.seccomp.syscalls[1].names: syscall names must be non-empty strings"),
    (_section(syscalls=[{"names": ["mount"], "action": "SCMP_ACT_EXPLODE"}]),
     "linux.seccomp.syscalls[0].action: unknown seccomp action: SCMP_ACT_EXPLODE"),
    (_section(defaultAction="SCMP_ACT_NOPE"),
     "linux.seccomp.defaultAction: unknown seccomp action: SCMP_ACT_NOPE"),
    (_section(architectures=["SCMP_ARCH_VAX"]),
     "linux.seccomp.architectures: unknown architecture: SCMP_ARCH_VAX"),
    (_section(syscalls=[{"names": ["mount"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}]),
     "linux.seccomp.syscalls[0].action: errnoRet is only allowed with SCMP_ACT_ERRNO or "
     "SCMP_ACT_TRACE, not SCMP_ACT_ALLOW"),
    (_section(syscalls=[{"names": ["dup"], "action": "SCMP_ACT_ERRNO",
                         "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]),
     "linux.seccomp.syscalls[0].args[0].index: must be 0 to 5, got 6"),
    (_section(syscalls=[{"names": ["dup"], "action": "SCMP_ACT_ERRNO",
                         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]),
     "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator: SCMP_CMP_LIKE"),
    (_section(syscalls=[{"names": ["dup"], "action": "SCMP_ACT_ERRNO",
                         "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]),
     "linux.seccomp.syscalls[0].args[0].value: must be an unsigned 64-bit integer"),
    (_section(syscalls=[{"names": [], "action": "SCMP_ACT_ERRNO"}]),
     "linux.seccomp.syscalls[0].names: must be a non-empty list"),
    (_section(syscalls=[{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]),
     "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported (no seccomp agent)"),
    (_section(listenerPath="/run/agent.sock"),
     "linux.seccomp.listenerPath: seccomp agents are not supported"),
    (_section(flags=["SECCOMP_FILTER_FLAG_BOGUS"]),
     "linux.seccomp.flags: unknown flag: SECCOMP_FILTER_FLAG_BOGUS"),
    ({"syscalls": []}, "linux.seccomp.defaultAction: missing"),
    ([], "linux.seccomp: must be an object"),
    (_section(defaultErrnoRet=-3, defaultAction="SCMP_ACT_ERRNO"),
     "linux.seccomp.defaultErrnoRet: must be an errno number, got -3"),
])
def test_bad_sections_name_the_culprit(section: object, message: str) -> None:
    with pytest.raises(InvalidConfig) as e:
        seccomp.compile_filter(section)
    assert str(e.value) == message


def test_flags() -> None:
    assert seccomp.filter_flags({}) == 0
    assert seccomp.filter_flags({"flags": ["SECCOMP_FILTER_FLAG_TSYNC",
                                           "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}) == 5
    with pytest.raises(InvalidConfig, match="NEW_LISTENER is not supported"):
        seccomp.filter_flags({"flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"]})


def test_rules_repeating_the_default_action_are_dropped_not_refused() -> None:
    a = seccomp.compile_filter(_section(syscalls=[]))
    b = seccomp.compile_filter(_section(syscalls=[{"names": ["read"],
                                                   "action": "SCMP_ACT_ALLOW"}]))
    assert a == b


def test_args_and_errno_change_the_program() -> None:
    plain = seccomp.compile_filter(_section())
    errno5 = seccomp.compile_filter(_section(syscalls=[
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]))
    with_args = seccomp.compile_filter(_section(syscalls=[
        {"names": ["mount"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 3, "value": 1, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]))
    assert len({plain, errno5, with_args}) == 3
    # ERRNO|5 appears as a return value in the program.
    assert (0x00050005).to_bytes(4, "little") in errno5


def test_same_argument_twice_becomes_alternatives() -> None:
    # libseccomp cannot and two conditions on one argument; they must be or-ed rules.
    bpf = seccomp.compile_filter(_section(syscalls=[
        {"names": ["dup"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 100, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 200, "op": "SCMP_CMP_EQ"}]}]))
    assert (100).to_bytes(4, "little") in bpf and (200).to_bytes(4, "little") in bpf


def test_memory_cache_returns_the_same_bytes_without_recompiling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    section = _section(syscalls=[{"names": ["chroot"], "action": "SCMP_ACT_ERRNO"}])
    first = seccomp.compile_filter(section)
    monkeypatch.setattr(seccomp, "_compile", lambda s: pytest.fail("recompiled"))
    assert seccomp.compile_filter(dict(reversed(list(section.items())))) is first


def test_disk_cache_is_written_and_reused(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    section = _section(syscalls=[{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}])
    seccomp._MEMORY_CACHE.clear()
    bpf = seccomp.compile_filter(section, cache_dir=str(tmp_path))
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].endswith(".bpf")
    assert (tmp_path / files[0]).read_bytes().endswith(b"\0" + bpf)
    seccomp._MEMORY_CACHE.clear()
    monkeypatch.setattr(seccomp, "_compile", lambda s: pytest.fail("recompiled"))
    assert seccomp.compile_filter(section, cache_dir=str(tmp_path)) == bpf


def test_corrupt_disk_cache_entry_is_recompiled(tmp_path: Path) -> None:
    section = _section(syscalls=[{"names": ["swapon"], "action": "SCMP_ACT_ERRNO"}])
    seccomp._MEMORY_CACHE.clear()
    good = seccomp.compile_filter(section, cache_dir=str(tmp_path))
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"garbage")  # not a multiple of 8
    seccomp._MEMORY_CACHE.clear()
    assert seccomp.compile_filter(section, cache_dir=str(tmp_path)) == good


def test_load_refuses_non_bpf() -> None:
    with pytest.raises(InvalidConfig, match=r"not a classic BPF program \(7 bytes\)"):
        seccomp.load_filter(b"1234567")


@given(st.permutations(["mount", "umount2", "reboot", "swapon", "acct"]), st.randoms())
def test_cache_text_ignores_key_order_but_not_content(names: list[str], rnd: Any) -> None:
    section = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    items = list(section.items())
    rnd.shuffle(items)
    assert seccomp._canonical(dict(items)) == seccomp._canonical(section)
    changed = {**section, "syscalls": [{"names": names[1:], "action": "SCMP_ACT_ERRNO",
                                        "errnoRet": 1}]}
    assert seccomp._canonical(changed) != seccomp._canonical(section)
    # Values that print alike must not collide: 1 and "1", True and 1.
    assert seccomp._canonical({"a": 1}) != seccomp._canonical({"a": "1"})
    assert seccomp._canonical({"a": True}) != seccomp._canonical({"a": 1})


def test_disk_cache_in_a_shared_writable_dir_is_not_trusted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = _section(syscalls=[{"names": ["pivot_root"], "action": "SCMP_ACT_ERRNO"}])
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    seccomp._MEMORY_CACHE.clear()
    seccomp.compile_filter(section, cache_dir=str(shared))
    assert os.listdir(shared) == []  # nothing stored where others could swap it


def test_disk_cache_entry_for_another_section_is_a_miss(tmp_path: Path) -> None:
    # Plant the entry of section A under the file name section B would use.
    a = _section(syscalls=[{"names": ["setns"], "action": "SCMP_ACT_ERRNO"}])
    b = _section(syscalls=[{"names": ["setns"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3}])
    seccomp._MEMORY_CACHE.clear()
    bpf_a = seccomp.compile_filter(a, cache_dir=str(tmp_path))
    (entry_a,) = tmp_path.iterdir()
    seccomp._MEMORY_CACHE.clear()
    bpf_b = seccomp.compile_filter(b, cache_dir=str(tmp_path))
    entry_b = next(p for p in tmp_path.iterdir() if p != entry_a)
    entry_b.write_bytes(entry_a.read_bytes())
    seccomp._MEMORY_CACHE.clear()
    assert seccomp.compile_filter(b, cache_dir=str(tmp_path)) == bpf_b != bpf_a


def test_disk_cache_dir_from_the_environment(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_SECCOMP_CACHE", str(tmp_path / "c"))
    seccomp._MEMORY_CACHE.clear()
    seccomp.compile_filter(_section(syscalls=[{"names": ["vhangup"],
                                               "action": "SCMP_ACT_ERRNO"}]))
    assert len(os.listdir(tmp_path / "c")) == 1
    assert (tmp_path / "c").stat().st_mode & 0o777 == 0o700


def test_arch_specific_names_unknown_to_libseccomp_are_skipped() -> None:
    # uretprobe exists only on x86_64 and is newer than some libseccomp releases.
    with_it = _section(syscalls=[{"names": ["uretprobe", "mount"], "action": "SCMP_ACT_ERRNO"}])
    seccomp._MEMORY_CACHE.clear()
    assert len(seccomp.compile_filter(with_it)) % 8 == 0


def test_deny_by_default_filters_get_the_enosys_preamble() -> None:
    seccomp._MEMORY_CACHE.clear()
    allow = seccomp.compile_filter(_section())
    deny = seccomp.compile_filter(_section(defaultAction="SCMP_ACT_ERRNO", syscalls=[
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]))
    enosys = (0x00050000 | 38).to_bytes(4, "little")
    assert enosys not in allow and enosys in deny
    # The preamble, like libseccomp's program, starts by loading the arch.
    assert deny[:8] == bytes.fromhex("2000000004000000")
