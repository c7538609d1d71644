"""Starting and stopping Debian's ``docker-registry`` (distribution 2.8) on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

CONFIG = """\
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_distribution(base: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start the registry; returns the process and ``127.0.0.1:PORT``."""
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = base / "config.yml"
    config.write_text(CONFIG.format(root=base / "data", port=port))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with open(base / "log", "wb") as log:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise RuntimeError("docker-registry did not start: "
                                   + (base / "log").read_text()[-500:]) from None
            time.sleep(0.05)
    return proc, f"127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
