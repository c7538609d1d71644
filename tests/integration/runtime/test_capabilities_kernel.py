"""Capabilities applied by real child processes: Docker's set as root, a non-root user
keeping exactly its ids, ambient caps across exec, and runc's spec defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from dockyard.oci.docker_defaults import DEFAULT_CAPABILITIES

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

# The child applies the capabilities given as JSON (switching to uid/gid/groups when
# given), prints its own status lines as JSON, then execs cat on /proc/self/status.
CHILD = r"""
import json, os, sys
from dockyard.runtime.capabilities import apply_process_capabilities
caps, user = json.loads(sys.argv[1]), json.loads(sys.argv[2])

def switch():
    os.setgroups(user["groups"])
    os.setgid(user["gid"])
    os.setuid(user["uid"])

apply_process_capabilities(caps, switch if user else None)
keys = ("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")
status = {}
for line in open("/proc/self/status"):
    k, _, v = line.partition(":")
    if k in keys:
        status[k] = " ".join(v.split())
print(json.dumps(status), flush=True)
os.execv("/bin/cat", ["cat", "/proc/self/status"])
"""

DOCKER = list(DEFAULT_CAPABILITIES)


def _status(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k] = " ".join(v.split())
    return out


def _run(caps: dict[str, Any] | None, user: dict[str, Any] | None = None
         ) -> tuple[dict[str, str], dict[str, str]]:
    p = subprocess.run([sys.executable, "-c", CHILD, json.dumps(caps), json.dumps(user)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    first, _, rest = p.stdout.partition("\n")
    return json.loads(first), _status(rest)


def test_docker_defaults_as_root() -> None:
    before, after = _run({"bounding": DOCKER, "effective": DOCKER, "permitted": DOCKER,
                          "inheritable": DOCKER})
    for key in ("CapEff", "CapPrm", "CapBnd", "CapInh"):
        assert before[key] == "00000000a80425fb", key
    assert before["CapAmb"] == "0000000000000000"
    # After exec as root the kernel recomputes: still exactly Docker's set.
    assert after["CapEff"] == "00000000a80425fb"
    assert after["CapBnd"] == "00000000a80425fb"
    assert after["Uid"] == "0 0 0 0"


def test_non_root_user_keeps_exact_ids_and_gets_ambient_across_exec() -> None:
    caps = {"bounding": DOCKER, "effective": DOCKER, "permitted": DOCKER,
            "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"]}
    before, after = _run(caps, {"uid": 1000, "gid": 1001, "groups": [100, 1001, 2000]})
    for st in (before, after):
        assert st["Uid"] == "1000 1000 1000 1000"
        assert st["Gid"] == "1001 1001 1001 1001"
        assert st["Groups"] == "100 1001 2000"
    # keep-caps carried the permitted set over setuid, so capset could restore them.
    assert before["CapEff"] == "00000000a80425fb"
    assert before["CapPrm"] == "00000000a80425fb"
    assert before["CapAmb"] == "0000000000000400"
    # A non-root exec keeps only ambient caps.
    assert after["CapEff"] == "0000000000000400"
    assert after["CapPrm"] == "0000000000000400"
    assert after["CapBnd"] == "00000000a80425fb"


def test_non_root_without_ambient_has_nothing_after_exec() -> None:
    before, after = _run({"bounding": DOCKER, "effective": DOCKER, "permitted": DOCKER},
                         {"uid": 65534, "gid": 65534, "groups": []})
    assert before["Groups"] == ""
    assert after["Uid"] == "65534 65534 65534 65534"
    assert after["CapEff"] == after["CapPrm"] == "0000000000000000"


def test_runc_spec_defaults_skip_unraisable_ambient_caps() -> None:
    # `runc spec` lists ambient caps without inheritable ones; runc skips them.
    three = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    before, after = _run({"bounding": three, "effective": three, "permitted": three,
                          "ambient": three})
    assert before["CapAmb"] == "0000000000000000"
    assert after["CapEff"] == "0000000020000420"


def test_no_capabilities_at_all() -> None:
    before, after = _run(None)
    assert before["CapEff"] == before["CapBnd"] == "0000000000000000"
    assert after["CapEff"] == "0000000000000000"


def test_caps_sequence_runs_under_dockers_seccomp_profile() -> None:
    # Without no_new_privs the init loads the filter first (while it still has
    # CAP_SYS_ADMIN), then drops caps and switches user: the profile must allow that.
    code = r"""
import json, os
from dockyard.oci.docker_defaults import DEFAULT_CAPABILITIES, default_seccomp_profile
from dockyard.runtime import seccomp
from dockyard.runtime.capabilities import apply_process_capabilities
caps = list(DEFAULT_CAPABILITIES)
seccomp.load_filter(seccomp.compile_filter(default_seccomp_profile(caps)))
def switch():
    os.setgroups([100]); os.setresgid(1000, 1000, 1000); os.setresuid(1000, 1000, 1000)
apply_process_capabilities({"bounding": caps, "effective": caps, "permitted": caps,
                            "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]}, switch)
st = {k: " ".join(v.split()) for k, _, v in
      (line.partition(":") for line in open("/proc/self/status"))}
print(json.dumps({k: st[k] for k in ("Uid", "Groups", "CapEff", "CapAmb", "Seccomp",
                                     "NoNewPrivs")}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"Uid": "1000 1000 1000 1000", "Groups": "100",
                                    "CapEff": "00000000a80425fb",
                                    "CapAmb": "0000000000000020", "Seccomp": "2",
                                    "NoNewPrivs": "0"}
