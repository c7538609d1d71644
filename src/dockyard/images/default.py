"""The default image: ``busybox:latest`` built from the host's busybox-static.

A machine that reaches no registry can still run containers. The image is one plain-tar
layer (busybox, its applet symlinks, /etc/passwd, /etc/group and the usual empty dirs)
written deterministically: the same /bin/busybox always gives the same image id.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import NotFound
from dockyard.oci import Descriptor, History, ImageConfig, Manifest, mediatypes
from dockyard.oci.platform import host_platform

if TYPE_CHECKING:
    from dockyard.images.image import Image
    from dockyard.images.store import ImageStore

__all__ = ["BUSYBOX", "build_default_image", "busybox_layer"]

BUSYBOX = Path("/bin/busybox")
EPOCH = "1970-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSWD = ("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\ndaemon:x:1:\nusers:x:100:\nnogroup:x:65534:\n"
DIRS = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755,
        "root": 0o700, "sbin": 0o755, "sys": 0o755, "tmp": 0o1777, "usr": 0o755,
        "usr/bin": 0o755, "usr/sbin": 0o755, "var": 0o755}


def _applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list-full"], check=True, capture_output=True,
                         text=True).stdout
    return sorted({a.strip() for a in out.splitlines() if a.strip()} - {"bin/busybox"})


def busybox_layer(busybox: Path = BUSYBOX) -> bytes:
    """The layer tar: sorted entries, owner 0:0, mtime 0, ustar headers."""
    if not busybox.is_file():
        raise NotFound(f"no such image: busybox:latest (and {busybox} is missing to build it;"
                       " install busybox-static)")
    buf = io.BytesIO()

    def info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.size, ti.linkname, ti.mtime = kind, mode, size, link, 0
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    applets = _applets(busybox)
    dirs = dict(DIRS)
    for a in applets:
        if "/" in a:  # ``linuxrc`` sits at the root
            dirs.setdefault(a.rsplit("/", 1)[0], 0o755)
    files = {"etc/passwd": PASSWD.encode(), "etc/group": GROUP.encode()}
    entries: list[tuple[str, tarfile.TarInfo, bytes | None]] = []
    for d, mode in dirs.items():
        entries.append((d, info(d + "/", tarfile.DIRTYPE, mode), None))
    binary = busybox.read_bytes()
    entries.append(("bin/busybox", info("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)),
                    binary))
    for name, body in files.items():
        entries.append((name, info(name, tarfile.REGTYPE, 0o644, len(body)), body))
    for a in applets:
        if a not in files:
            entries.append((a, info(a, tarfile.SYMTYPE, 0o777, link="/bin/busybox"), None))
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for _, ti, content in sorted(entries, key=lambda e: e[0]):
            tf.addfile(ti, io.BytesIO(content) if content is not None else None)
    return buf.getvalue()


def build_default_image(store: ImageStore, busybox: Path = BUSYBOX) -> Image:
    """Write the layer, config and manifest and tag ``busybox:latest``."""
    layer = busybox_layer(busybox)
    with store.writing():
        return _write(store, layer, busybox)


def _write(store: ImageStore, layer: bytes, busybox: Path) -> Image:
    from dockyard.images.store import DEFAULT_IMAGE

    diff_id = store.content.write(layer)
    plat = host_platform()
    version = subprocess.run([str(busybox)], capture_output=True, text=True).stdout
    version = version.splitlines()[0].strip() if version else "busybox"
    cfg = ImageConfig(
        plat.architecture, plat.os, (diff_id,),
        {"Env": [PATH_ENV], "Cmd": ["sh"]}, EPOCH, variant=plat.variant,
        history=(History(EPOCH, f"dockyard: {version} from the host's {busybox}",
                         "default image built without a registry"),))
    raw = cfg.to_bytes()
    cfg_digest = store.content.write(raw)
    manifest = Manifest(Descriptor(mediatypes.OCI_CONFIG, cfg_digest, len(raw)),
                        (Descriptor(mediatypes.OCI_LAYER, diff_id, len(layer)),))
    image, _ = store.register(manifest, [DEFAULT_IMAGE], hold=False)
    return image

