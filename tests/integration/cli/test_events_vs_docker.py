"""Events of the verbs served around the engine's core (attach, commit, export, image
save/load/import) compared with a private dockerd 20.10's, through both commands
(regression: these verbs logged nothing)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli.conftest import Dockyard

ACTIONS = {"attach", "commit", "export", "save", "load", "import"}


def _script(run: Any, tmp: Path, image: str) -> None:
    """The same verbs for either command line (``run`` runs one command)."""
    run("run", "--name", "evx", "--network", "none", image, "true")
    run("commit", "evx", "evx-img:1")
    run("export", "-o", str(tmp / "fs.tar"), "evx")
    run("save", "-o", str(tmp / "img.tar"), "evx-img:1")
    run("load", "-i", str(tmp / "img.tar"))
    run("import", str(tmp / "fs.tar"), "evx-imported:1")
    run("rm", "evx")


def _shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(e["Type"], e["Action"], tuple(sorted(e["Actor"]["Attributes"])))
            for e in events if e["Action"] in ACTIONS]


@pytest.mark.peer
@pytest.mark.slow
def test_attach_commit_export_save_load_import_events_match_docker(
        dockyard: Dockyard, dockerd: Any, busybox_rootfs_template: Path,
        tmp_path: Path) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, "evbox")
    (tmp_path / "theirs").mkdir()
    (tmp_path / "ours").mkdir()
    since = time.time()
    _script(lambda *a: dockerd.docker(*a), tmp_path / "theirs", "evbox")
    until = time.time() + 0.5
    time.sleep(0.6)
    out = dockerd.docker("events", "--since", f"{since:.6f}", "--until", f"{until:.6f}",
                         "--format", "{{json .}}").stdout
    theirs = [json.loads(line) for line in out.splitlines() if line.strip()]
    for image in ("evx-img:1", "evx-imported:1"):
        dockerd.docker("rmi", image, check=False)

    since = time.time()
    _script(dockyard.ok, tmp_path / "ours", "busybox")
    out = dockyard.ok("events", "--since", f"{since:.6f}", "--until", f"{time.time():.6f}",
                      "--format", "{{json .}}")
    ours = [json.loads(line) for line in out.splitlines() if line.strip()]

    assert [a for _, a, _ in _shape(theirs)] == ["attach", "commit", "export", "save",
                                                  "load", "import"]
    assert _shape(ours) == _shape(theirs)
