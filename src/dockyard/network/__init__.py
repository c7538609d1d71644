"""Networks: bridges, veths, IPAM, published ports (nftables), embedded DNS.

Net-core: :mod:`store` (records in docker's inspect shape, endpoints, addresses under
one lock), :mod:`ipam` (pure address logic), :mod:`netns` and :mod:`bridge` (kernel
side over netlink), :mod:`names` (interface and table names). Net-services: ``nft``,
``dns``, ``shaping``, ``ports``. Import the modules themselves; this package imports
nothing heavy.
"""

from __future__ import annotations

__all__ = ["bridge", "ipam", "model", "names", "netns", "store"]
