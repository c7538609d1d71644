"""Rate units of --egress-rate/--ingress-rate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument
from dockyard.network.shaping import MAX_RATE, format_rate, parse_rate


@pytest.mark.parametrize("text, bits", [
    ("20mbit", 20_000_000), ("20MBIT", 20_000_000), ("512kbit", 512_000), ("1gbit", 10**9),
    ("1.5mbit", 1_500_000), ("1mibit", 2**20), ("1mbps", 8_000_000), ("100kbps", 800_000),
    ("64000", 64_000), ("10m", 10_000_000), (" 8kbit ", 8000), ("0", 0), ("0mbit", 0),
])
def test_parse(text: str, bits: int) -> None:
    assert parse_rate(text) == bits


@pytest.mark.parametrize("text, message", [
    ("fast", "^expected a rate like 10mbit, 512kbit or 1gbit$"),
    ("10 mbit", "expected a rate"), ("-1mbit", "expected a rate"), ("", "expected a rate"),
    ("10furlongs", "expected a rate"), ("100tbit", "above the largest rate"),
    ("100bit", "below the smallest rate"),
])
def test_bad(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_rate(text)


@given(st.integers(8000, MAX_RATE))
def test_format_round_trips(bits: int) -> None:
    assert parse_rate(format_rate(bits)) == bits


@given(st.text(max_size=12))
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        assert 0 <= parse_rate(text) <= MAX_RATE
    except InvalidArgument as err:
        assert "\n" not in str(err)


@pytest.mark.parametrize("hc, message", [
    ({"NetworkMode": "host", "EgressRate": 1_000_000}, "need the container's own network"),
    ({"NetworkMode": "none", "IngressRate": 1_000_000}, "need the container's own network"),
    ({"NetworkMode": "container:x", "EgressRate": 8000}, "need the container's own network"),
    ({"NetworkMode": "default", "EgressRate": -5}, "invalid EgressRate: -5"),
    ({"NetworkMode": "default", "IngressRate": "10mbit"}, "invalid IngressRate: '10mbit'"),
    ({"NetworkMode": "default", "EgressRate": MAX_RATE + 1}, "invalid EgressRate"),
])
def test_host_config_checks(hc: dict[str, object], message: str) -> None:
    from dockyard.engine.config import HostFacts, adapt_host_config

    facts = HostFacts(ncpu=2, cgroup_v2=False, blkio_weight=False,
                      hard_rlimits={"nofile": 20000, "nproc": 1000})
    with pytest.raises(InvalidArgument, match=message):
        adapt_host_config(hc, facts)  # type: ignore[arg-type]
    out, _ = adapt_host_config({"NetworkMode": "default", "EgressRate": 20_000_000,
                                "IngressRate": 0}, facts)  # type: ignore[typeddict-item]
    assert out["EgressRate"] == 20_000_000 and "IngressRate" not in out  # type: ignore[typeddict-item]
