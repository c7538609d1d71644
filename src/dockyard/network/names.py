"""Names of the kernel objects Dockyard's networks create.

Every bridge and host-side veth starts with one prefix (``DOCKYARD_NET_PREFIX``,
default ``dy``), so tests give their session token and the leak check finds them; the
rest of the name comes from the network's or endpoint's id, cut to the kernel's
15-character limit.
"""

from __future__ import annotations

import os
import re

from dockyard.errors import InvalidArgument

__all__ = ["IFNAMSIZ", "bridge_name", "nft_table", "prefix", "veth_name"]

IFNAMSIZ = 15  # usable characters of a Linux interface name
_PREFIX = re.compile(r"^[a-z][a-z0-9]{0,9}$")


def prefix() -> str:
    """The interface-name prefix of this engine (letters and digits, at most 10)."""
    value = os.environ.get("DOCKYARD_NET_PREFIX") or "dy"
    if not _PREFIX.match(value):
        raise InvalidArgument(f"DOCKYARD_NET_PREFIX={value}: want 1-10 lower-case letters "
                              "and digits, starting with a letter")
    return value


def bridge_name(network_id: str) -> str:
    """``<prefix>b<id...>``: the bridge of one network."""
    head = prefix() + "b"
    return head + network_id[: IFNAMSIZ - len(head)]


def veth_name(endpoint_id: str) -> str:
    """``<prefix>v<id...>``: the host side of one endpoint's veth pair."""
    head = prefix() + "v"
    return head + endpoint_id[: IFNAMSIZ - len(head)]


def nft_table() -> str:
    """The one nftables table of this engine: ``dockyard``, or ``dockyard_<prefix>``
    when a prefix is set (tests: the session token)."""
    p = prefix()
    return "dockyard" if p == "dy" else f"dockyard_{p}"
