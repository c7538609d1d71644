"""Build a minimal busybox root filesystem from the host's busybox-static."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BUSYBOX = Path("/bin/busybox")

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    "tester:x:1000:1000:tester:/home/tester:/bin/sh\n"
)
GROUP = "root:x:0:\ndaemon:x:1:\nusers:x:100:tester\ntester:x:1000:\nnogroup:x:65534:\n"


def busybox_applets() -> list[str]:
    """Applet paths as busybox lists them (``bin/sh``, ``usr/bin/env``...)."""
    out = subprocess.run(
        [str(BUSYBOX), "--list-full"], check=True, capture_output=True, text=True
    ).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def make_busybox_rootfs(dest: Path) -> Path:
    """Create ``dest`` holding busybox, its applet links, /etc/passwd and /etc/group."""
    if not BUSYBOX.exists():
        raise RuntimeError("busybox-static is not installed (apt-get install busybox-static)")
    dest.mkdir(parents=True, exist_ok=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp",
              "root", "home/tester", "var"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    for applet in busybox_applets():
        link = dest / applet
        if applet == "bin/busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to("/bin/busybox")
    (dest / "etc" / "passwd").write_text(PASSWD)
    (dest / "etc" / "group").write_text(GROUP)
    os.chown(dest / "home" / "tester", 1000, 1000)
    return dest


def copy_rootfs(src: Path, dest: Path) -> Path:
    """A private, writable copy of a rootfs (symlinks kept as links)."""
    subprocess.run(["cp", "-a", str(src), str(dest)], check=True)
    return dest
