"""Side by side with runc on the same bundles (issue 2, must-show 2)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtime.conftest import RUNC, Bundle, run_cmd

pytestmark = pytest.mark.peer


def _twin(bundle: Bundle, name: str) -> Path:
    """A copy of the bundle's config for runc, in its own dir and cgroup."""
    path = bundle.path.parent / name
    path.mkdir(exist_ok=True)
    config = json.loads(json.dumps(bundle.config))
    config["linux"]["cgroupsPath"] = bundle.config["linux"]["cgroupsPath"] + "-" + name
    (path / "config.json").write_text(json.dumps(config))
    return path


def _both(runtime_cmd: list[str], state_root: Path, runc_root: Path) -> dict[str, list[str]]:
    assert RUNC is not None
    return {"dockyard": [*runtime_cmd, "--root", str(state_root)],
            "runc": [RUNC, "--root", str(runc_root)]}


def _create(cmd: list[str], bundle_dir: Path, cid: str) -> None:
    with open(bundle_dir / f"{cid}.err", "w+") as err:  # a pipe would stay open in PID 1
        r = subprocess.run([*cmd, "create", "--bundle", str(bundle_dir), cid],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                           timeout=30)
        err.seek(0)
        assert r.returncode == 0, err.read()


def _state(cmd: list[str], cid: str) -> dict[str, Any] | None:
    r = run_cmd([*cmd, "state", cid])
    return json.loads(r.stdout) if r.returncode == 0 else None


def _wait_status(cmd: list[str], cid: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        st = _state(cmd, cid)
        if st is not None and st["status"] == status:
            return st
        assert time.monotonic() < deadline, f"{cmd[0]}: {cid} never {status}: {st}"
        time.sleep(0.02)


def test_state_json_and_transitions_match_runc(runtime_cmd: list[str], state_root: Path,
                                               runc_root: Path, bundle: Bundle) -> None:
    bundle.config["annotations"] = {"org.example.purpose": "side-by-side"}
    bundle.write(args=["sleep", "30"])
    seen: dict[str, list[tuple[str, ...]]] = {}
    for name, cmd in _both(runtime_cmd, state_root, runc_root).items():
        bdir = _twin(bundle, name)
        cid = f"cmp-{name}"
        steps: list[tuple[str, ...]] = []
        _create(cmd, bdir, cid)
        st = _state(cmd, cid)
        assert st is not None
        assert st["pid"] > 0 and st["bundle"] == str(bdir) and st["id"] == cid
        assert st["annotations"] == bundle.config["annotations"]
        steps.append(("created", st["status"], *sorted(st)))
        assert run_cmd([*cmd, "start", cid]).returncode == 0
        steps.append(("started", _wait_status(cmd, cid, "running")["status"]))
        r = run_cmd([*cmd, "start", cid])
        steps.append(("start again", str(r.returncode != 0)))
        r = run_cmd([*cmd, "delete", cid])
        steps.append(("delete running", str(r.returncode != 0)))
        assert run_cmd([*cmd, "kill", cid, "KILL"]).returncode == 0
        st = _wait_status(cmd, cid, "stopped")
        steps.append(("killed", st["status"], str(st["pid"] == 0)))
        assert run_cmd([*cmd, "delete", cid]).returncode == 0
        steps.append(("deleted", str(_state(cmd, cid))))
        seen[name] = steps
    assert seen["dockyard"] == seen["runc"]


def test_capabilities_inside_match_runc(runtime_cmd: list[str], state_root: Path,
                                        runc_root: Path, bundle: Bundle) -> None:
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"]
    bundle.config["process"]["capabilities"] = {
        "bounding": caps, "effective": caps[:3], "permitted": caps, "inheritable": caps[:2],
        "ambient": caps[:1]}
    bundle.write(args=["sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status"])
    out = {}
    for name, cmd in _both(runtime_cmd, state_root, runc_root).items():
        r = run_cmd([*cmd, "run", "--bundle", str(_twin(bundle, name)), f"caps-{name}"])
        assert r.returncode == 0, r.stderr
        out[name] = r.stdout
    assert "CapAmb:\t0000000000000001" in out["dockyard"]
    assert out["dockyard"] == out["runc"]


def test_exit_codes_match_runc(runtime_cmd: list[str], state_root: Path, runc_root: Path,
                               bundle: Bundle) -> None:
    both = _both(runtime_cmd, state_root, runc_root)
    codes: dict[str, list[int]] = {}
    for name, cmd in both.items():
        bdir = _twin(bundle, name)
        got = []
        config = json.loads((bdir / "config.json").read_text())
        config["process"]["args"] = ["/no/such/command"]
        (bdir / "config.json").write_text(json.dumps(config))
        got.append(run_cmd([*cmd, "run", "--bundle", str(bdir), f"missing-{name}"]).returncode)
        (bdir / "config.json").write_text("{not json")
        got.append(run_cmd([*cmd, "run", "--bundle", str(bdir), f"bad-{name}"]).returncode)
        for verb in ("state", "start", "kill", "delete", "pause"):
            got.append(run_cmd([*cmd, verb, "no-such-id"]).returncode)
        codes[name] = got
    assert codes["dockyard"] == codes["runc"]
    assert all(c != 0 for c in codes["dockyard"])
    assert not state_root.exists() or not list(state_root.iterdir())
