"""Capability table, parsing and the pre-fork check (pure logic and reading caps)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidConfig
from dockyard.runtime import capabilities as caps


def test_table_has_all_41_in_kernel_order() -> None:
    assert len(caps.NAMES) == 41
    assert caps.CAPABILITIES["CAP_CHOWN"] == 0
    assert caps.CAPABILITIES["CAP_SETPCAP"] == 8
    assert caps.CAPABILITIES["CAP_SYS_ADMIN"] == 21
    assert caps.CAPABILITIES["CAP_SYS_RESOURCE"] == 24
    assert caps.CAPABILITIES["CAP_AUDIT_READ"] == 37
    assert caps.CAPABILITIES["CAP_BPF"] == 39
    assert caps.CAPABILITIES["CAP_CHECKPOINT_RESTORE"] == 40
    assert len(set(caps.NAMES)) == 41


def test_table_matches_this_kernel() -> None:
    assert caps.last_cap() == len(caps.NAMES) - 1


@pytest.mark.parametrize(("names", "mask"), [
    ([], 0),
    (["CAP_CHOWN"], 1),
    (["CAP_KILL", "CAP_KILL"], 1 << 5),
    (["kill", "cap_net_raw", "NET_ADMIN"], 1 << 5 | 1 << 13 | 1 << 12),
    (["CAP_CHECKPOINT_RESTORE"], 1 << 40),
])
def test_parse(names: list[str], mask: int) -> None:
    assert caps.parse(names) == mask


@pytest.mark.parametrize(("names", "message"), [
    (["CAP_NOPE"], "process.capabilities.bounding: unknown capability: CAP_NOPE"),
    (["CAP_CHOWN", ""], "process.capabilities.bounding: unknown capability: "),
    ([7], "process.capabilities.bounding: capability names must be strings, got 7"),
    ("CAP_CHOWN", "process.capabilities.bounding: must be a list of capability names"),
    (None, "process.capabilities.bounding: must be a list of capability names"),
])
def test_parse_refuses_with_field_and_name(names: object, message: str) -> None:
    with pytest.raises(InvalidConfig) as e:
        caps.parse(names, "process.capabilities.bounding")
    assert str(e.value) == message


@given(st.integers(min_value=0, max_value=(1 << 41) - 1))
def test_mask_names_round_trip(mask: int) -> None:
    assert caps.parse(caps.names_of(mask)) == mask


def test_check_reports_each_set_as_masks() -> None:
    sets = caps.check_process_capabilities(
        {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"],
         "ambient": ["CAP_CHOWN"]})
    assert sets == {"bounding": 1 << 5, "effective": 1 << 5, "permitted": 1 << 5,
                    "inheritable": 0, "ambient": 1}


def test_check_none_means_no_capabilities() -> None:
    assert caps.check_process_capabilities(None) == dict.fromkeys(caps.SETS, 0)


@pytest.mark.parametrize(("config", "message"), [
    ({"bounding": ["CAP_X"]}, "process.capabilities.bounding: unknown capability: CAP_X"),
    ({"sideways": []}, "process.capabilities: unknown set: sideways"),
    (["CAP_KILL"], "process.capabilities: must be an object"),
])
def test_check_refuses_bad_config(config: object, message: str) -> None:
    with pytest.raises(InvalidConfig) as e:
        caps.check_process_capabilities(config)  # type: ignore[arg-type]
    assert str(e.value) == message


def test_check_refuses_caps_the_runtime_does_not_hold() -> None:
    _, held, _ = caps.get_sets()
    missing = [n for i, n in enumerate(caps.NAMES) if not held >> i & 1]
    if not missing:
        pytest.skip("this process holds every capability")  # not on this machine: see below
    with pytest.raises(InvalidConfig) as e:
        caps.check_process_capabilities({"permitted": [missing[0]]})
    assert str(e.value) == f"process.capabilities.permitted: not held by the runtime: {missing[0]}"


def test_this_machine_lacks_cap_sys_resource() -> None:
    # PEERS.md: root here has no CAP_SYS_RESOURCE, which the check above relies on.
    _, held, _ = caps.get_sets()
    assert not held >> caps.CAPABILITIES["CAP_SYS_RESOURCE"] & 1
    assert not caps.bounding_set() >> caps.CAPABILITIES["CAP_SYS_RESOURCE"] & 1


def test_available_is_what_a_privileged_container_can_get() -> None:
    names = caps.available()
    assert "CAP_SYS_ADMIN" in names and "CAP_SYS_RESOURCE" not in names
    every = dict.fromkeys(("bounding", "effective", "permitted", "inheritable"), names)
    assert caps.check_process_capabilities(every)["permitted"] == caps.parse(names)
