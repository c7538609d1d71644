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


def test_apply_in_a_child_sets_the_limits() -> None:
    import subprocess
    import sys

    code = ("from dockyard.runtime.rlimits import apply_rlimits, check_rlimits\n"
            "apply_rlimits(check_rlimits([{'type': 'RLIMIT_NOFILE', 'soft': 512, 'hard': 1024},"
            " {'type': 'RLIMIT_CORE', 'soft': 0, 'hard': 0}]))\n"
            "print(open('/proc/self/limits').read())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    rows = {" ".join(line.split()[:-3]): line.split()[-3:-1] for line in out.splitlines()[1:]}
    assert rows["Max open files"] == ["512", "1024"]
    assert rows["Max core file size"] == ["0", "0"]


def test_apply_reports_a_kernel_refusal() -> None:
    import subprocess
    import sys

    # Bypassing check_rlimits, in a child: raising the hard limit needs CAP_SYS_RESOURCE.
    code = ("import resource\nfrom dockyard.runtime.rlimits import Rlimit, apply_rlimits\n"
            "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
            "try:\n    apply_rlimits([Rlimit('RLIMIT_NOFILE', resource.RLIMIT_NOFILE, 10,"
            " hard + 1)])\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30).stdout.strip()
    assert out.startswith(f"SystemFailure setrlimit RLIMIT_NOFILE soft 10 hard {HARD_NOFILE + 1}:")
