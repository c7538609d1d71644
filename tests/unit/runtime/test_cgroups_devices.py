"""The v2 device filter: the generated eBPF program, run by a small interpreter here,
decides exactly as v1's devices.allow/deny sequence would (checked with hypothesis)."""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dockyard.runtime.cgroups.devices_rules import DeviceRule, parse_device_rules
from dockyard.runtime.cgroups.v2.devices import program

CHAR, BLOCK = 2, 1
ACCESS = {"m": 1, "r": 2, "w": 4}


def run(prog: bytes, kind: int, access: int, major: int, minor: int) -> int:
    """Interpret the subset of eBPF the generator emits; returns r0."""
    ctx = struct.pack("<III", access << 16 | kind, major, minor)
    regs = [0] * 11
    pc = 0
    steps = 0
    while True:
        steps += 1
        assert steps < 10000, "runaway program"
        code, regs_byte, off, imm = struct.unpack_from("<BBhi", prog, pc * 8)
        dst, src = regs_byte & 0xF, regs_byte >> 4
        pc += 1
        if code == 0x61:
            assert src == 1
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif code == 0x54:
            regs[dst] = (regs[dst] & imm) & 0xFFFFFFFF
        elif code == 0x74:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif code == 0x57:
            regs[dst] &= imm
        elif code == 0xB7:
            regs[dst] = imm
        elif code == 0xBF:
            regs[dst] = regs[src]
        elif code == 0x15:
            pc += off if regs[dst] == imm else 0
        elif code == 0x55:
            pc += off if regs[dst] != imm else 0
        elif code == 0x05:
            pc += off
        elif code == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def v1_model(rules: list[DeviceRule], kind: int, access: int, major: int, minor: int) -> int:
    """v1 semantics: per access bit, the last rule naming the device and bit decides;
    no rule means allowed (a new cgroup starts from its parent's allow-all)."""
    for letter, bit in ACCESS.items():
        if not access & bit:
            continue
        verdict = True
        for rule in rules:
            if rule.type == "a":
                verdict = rule.allow
                continue
            if (rule.type == "c") != (kind == CHAR) or letter not in rule.access:
                continue
            if rule.major is not None and rule.major != major:
                continue
            if rule.minor is not None and rule.minor != minor:
                continue
            verdict = rule.allow
        if not verdict:
            return 0
    return 1


DOCKER_RULES: list[dict[str, Any]] = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},  # null
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},  # zero
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},  # tty
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},  # pts/*
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},  # fuse
]


def test_docker_like_rules() -> None:
    rules = parse_device_rules(DOCKER_RULES)
    prog = program(rules)
    assert len(prog) % 8 == 0
    assert run(prog, CHAR, 2 | 4, 1, 3) == 1  # rw /dev/null
    assert run(prog, CHAR, 1, 136, 7) == 1  # mknod a pts
    assert run(prog, CHAR, 2, 1, 1) == 0  # /dev/mem
    assert run(prog, BLOCK, 2, 8, 0) == 0  # a disk
    assert run(prog, CHAR, 2, 10, 229) == 0


def test_split_bits_combine_like_v1() -> None:
    rules = parse_device_rules([
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "w"},
        {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"},
        {"allow": True, "type": "c", "major": 1, "access": "w"},
    ])
    prog = program(rules)
    assert run(prog, CHAR, 2 | 4, 1, 3) == 1  # the last rule re-allows w
    assert run(prog, CHAR, 2, 1, 7) == 0
    assert run(prog, CHAR, 4, 1, 7) == 1
    assert run(prog, CHAR, 1, 1, 3) == 0  # m never allowed


def test_no_rules_allows_everything() -> None:
    assert run(program([]), BLOCK, 7, 8, 0) == 1


_rule = st.fixed_dictionaries({
    "allow": st.booleans(),
    "type": st.sampled_from(["a", "c", "b"]),
    "major": st.one_of(st.none(), st.integers(0, 3)),
    "minor": st.one_of(st.none(), st.integers(0, 3)),
    "access": st.sampled_from(["r", "w", "m", "rw", "rm", "wm", "rwm"]),
})


@given(st.lists(_rule, max_size=8), st.sampled_from([CHAR, BLOCK]),
       st.integers(1, 7), st.integers(0, 3), st.integers(0, 3))
def test_program_matches_v1_semantics(raw: list[dict[str, Any]], kind: int, access: int,
                                      major: int, minor: int) -> None:
    rules = parse_device_rules(raw)
    assert run(program(rules), kind, access, major, minor) == \
        v1_model(rules, kind, access, major, minor)
