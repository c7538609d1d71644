"""Remove the kernel side of one engine root's networks (bridges, veths, nft rules, pinned
namespaces) after a test, whatever state the test left them in."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path


def clean_networks(root: Path, run_root: Path) -> None:
    """Delete every veth and bridge the root's network records name (and whatever is
    on those bridges: a removed container's veth goes with its namespace a moment
    later), and unpin any namespace under ``run_root``; the records themselves stay
    (they are under tmp)."""
    net_dir = root / "networks"
    docs = []
    for path in sorted(net_dir.glob("*.json")) if net_dir.exists() else []:
        with contextlib.suppress(OSError, ValueError):
            docs.append(json.loads(path.read_text()))
    for doc in docs:
        private = doc.get("Dockyard") or {}
        links = [e.get("Veth") for e in (private.get("Endpoints") or {}).values()]
        bridge = private.get("Bridge")
        with contextlib.suppress(OSError):  # a removed container's veth may still be there
            links += os.listdir(f"/sys/class/net/{bridge}/brif") if bridge else []
        for link in [*links, bridge]:
            if link and Path("/sys/class/net", link).exists():
                subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
        with contextlib.suppress(Exception):
            from dockyard.network import names, nft

            nft.remove_network_rules(names.nft_table(), doc["Id"])
            for ep in (doc.get("Containers") or {}).values():
                nft.unpublish(names.nft_table(), ep["EndpointID"])
            nft.drop_table_if_empty(names.nft_table())
    containers = run_root / "containers"
    for ns in containers.glob("*/netns") if containers.exists() else []:
        subprocess.run(["umount", "-l", str(ns)], capture_output=True, check=False)
