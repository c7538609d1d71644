"""Starting and stopping Debian's ``docker-registry`` (distribution 2.8) on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
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


HTPASSWD = """\
auth:
  htpasswd:
    realm: dockyard-test
    path: {path}
"""


def htpasswd_line(user: str, password: str, cost: int = 5) -> str:
    """``user:$2y$…`` as ``htpasswd -B`` writes it (the tool itself when installed:
    apache2-utils; else the same hash through the bcrypt package, $2b$ renamed $2y$)."""
    if shutil.which("htpasswd"):
        return subprocess.run(["htpasswd", "-nbB", "-C", str(cost), user, password],
                              check=True, capture_output=True, text=True).stdout.strip()
    import bcrypt

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()
    return f"{user}:$2y${hashed[4:]}"


def start_distribution(base: Path, users: dict[str, str] | None = None,
                       extra: str = "") -> tuple[subprocess.Popen[bytes], str]:
    """Start the registry (with htpasswd basic auth for ``users``); returns the
    process and ``127.0.0.1:PORT``."""
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = base / "config.yml"
    text = CONFIG.format(root=base / "data", port=port)
    if users:
        lines = [htpasswd_line(u, p) for u, p in users.items()]
        (base / "htpasswd").write_text("\n".join(lines) + "\n")
        text += HTPASSWD.format(path=base / "htpasswd")
    config.write_text(text + extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with open(base / "log", "wb") as log:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], env=env,
                                stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1):
                break
        except urllib.error.HTTPError:  # 401: up, and asking for credentials
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
