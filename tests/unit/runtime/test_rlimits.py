"""process.rlimits validation: shape, and never above the caller's hard limit."""

from __future__ import annotations

import resource

import pytest

from dockyard.errors import InvalidConfig
from dockyard.runtime.rlimits import RLIMITS, Rlimit, check_rlimits, parse_rlimits

INF = resource.RLIM_INFINITY
HARD_NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def test_every_oci_rlimit_is_known() -> None:
    assert len(RLIMITS) == 16
    assert RLIMITS["RLIMIT_NOFILE"] == resource.RLIMIT_NOFILE
    assert RLIMITS["RLIMIT_LOCKS"] == 10


def test_parse_good() -> None:
    got = parse_rlimits([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
                         {"type": "RLIMIT_CORE", "soft": 0, "hard": 2**64 - 1}])
    assert got == [Rlimit("RLIMIT_NOFILE", resource.RLIMIT_NOFILE, 1024, 4096),
                   Rlimit("RLIMIT_CORE", resource.RLIMIT_CORE, 0, INF)]
    assert parse_rlimits(None) == []


@pytest.mark.parametrize(("config", "message"), [
    ({"type": "RLIMIT_NOFILE"}, "process.rlimits: must be a list"),
    ([5], "process.rlimits[0]: must be an object"),
    ([{"type": "RLIMIT_FOO", "soft": 1, "hard": 1}],
     "process.rlimits[0].type: unknown rlimit: RLIMIT_FOO"),
    ([{"soft": 1, "hard": 1}], "process.rlimits[0].type: unknown rlimit: None"),
    ([{"type": "RLIMIT_NOFILE", "hard": 1}],
     "process.rlimits[0].soft: missing for RLIMIT_NOFILE"),
    ([{"type": "RLIMIT_NOFILE", "soft": -1, "hard": 1}],
     "process.rlimits[0].soft: must be an integer from 0 to 2^64-1, got -1"),
    ([{"type": "RLIMIT_NOFILE", "soft": "10", "hard": 1}],
     "process.rlimits[0].soft: must be an integer from 0 to 2^64-1, got '10'"),
    ([{"type": "RLIMIT_NOFILE", "soft": 1, "hard": True}],
     "process.rlimits[0].hard: must be an integer from 0 to 2^64-1, got True"),
    ([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}],
     "process.rlimits[0]: RLIMIT_NOFILE soft 10 is above hard 5"),
    ([{"type": "RLIMIT_NOFILE", "soft": 2**64 - 1, "hard": 5}],
     "process.rlimits[0]: RLIMIT_NOFILE soft unlimited is above hard 5"),
    ([{"type": "RLIMIT_CPU", "soft": 1, "hard": 1}, {"type": "RLIMIT_CPU", "soft": 1, "hard": 1}],
     "process.rlimits[1].type: RLIMIT_CPU given twice"),
])
def test_parse_refuses_naming_the_field(config: object, message: str) -> None:
    with pytest.raises(InvalidConfig) as e:
        parse_rlimits(config)
    assert str(e.value) == message


def test_check_accepts_up_to_the_hard_limit() -> None:
    got = check_rlimits([{"type": "RLIMIT_NOFILE", "soft": HARD_NOFILE, "hard": HARD_NOFILE}])
    assert got[0].hard == HARD_NOFILE


@pytest.mark.skipif(HARD_NOFILE == INF, reason="needs a finite hard RLIMIT_NOFILE")
def test_check_refuses_above_the_callers_hard_limit() -> None:
    # PEERS.md: hard NOFILE is 20000 and root has no CAP_SYS_RESOURCE to raise it.
    with pytest.raises(InvalidConfig) as e:
        check_rlimits([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 1048576}])
    assert str(e.value) == (
        f"process.rlimits: RLIMIT_NOFILE hard 1048576 is above the runtime's hard limit "
        f"{HARD_NOFILE} (no CAP_SYS_RESOURCE to raise it)")
    with pytest.raises(InvalidConfig, match="RLIMIT_NOFILE hard unlimited is above"):
        check_rlimits([{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2**64 - 1}])


def test_check_against_unlimited_hard_limit_allows_anything() -> None:
    unlimited = [n for n, r in RLIMITS.items() if resource.getrlimit(r)[1] == INF]
    assert unlimited, "expected some rlimit with an unlimited hard value here"
    name = unlimited[0]
    got = check_rlimits([{"type": name, "soft": 2**64 - 1, "hard": 2**64 - 1}])
    assert got[0].soft == INF and got[0].hard == INF
