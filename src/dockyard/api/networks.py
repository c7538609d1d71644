"""Network and volume endpoints, as far as the engine has them today.

The engine knows docker's three predefined networks (``bridge`` = a private network
namespace with loopback until ``network/`` lands, ``host``, ``none``) and no volumes;
creating either is refused with a clear 501 until those engine pieces are merged.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, json_body, reply
from dockyard.api.errors import ApiError
from dockyard.errors import NotFound

__all__ = ["routes"]

_PREDEFINED = {"bridge": "bridge", "host": "host", "none": "null"}


def _network(name: str) -> dict[str, Any]:
    return {"Name": name, "Id": hashlib.sha256(f"dockyard-network-{name}".encode()).hexdigest(),
            "Created": "0001-01-01T00:00:00Z", "Scope": "local", "Driver": _PREDEFINED[name],
            "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": []},
            "Internal": False, "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
            "Options": {}, "Labels": {}}


def _find(ref: str) -> dict[str, Any]:
    for name in _PREDEFINED:
        net = _network(name)
        if ref in (name, net["Id"]) or (len(ref) >= 3 and net["Id"].startswith(ref)):
            return net
    raise NotFound(f"network {ref} not found")


async def list_networks(request: web.Request) -> web.StreamResponse:
    wanted = params.filters(request)
    nets = [_network(n) for n in _PREDEFINED]
    for key, values in wanted.items():
        if key == "name":
            nets = [n for n in nets if any(v in n["Name"] for v in values)]
        elif key == "id":
            nets = [n for n in nets if any(n["Id"].startswith(v) for v in values)]
        elif key == "driver":
            nets = [n for n in nets if n["Driver"] in values]
        elif key == "type":
            nets = nets if "builtin" in values else []
        elif key in ("label", "scope", "dangling"):
            nets = [] if key == "label" else nets
        else:
            raise ApiError(400, f"invalid filter '{key}'")
    return reply(nets)


async def inspect_network(request: web.Request) -> web.StreamResponse:
    return reply(_find(request.match_info["id"]))


async def not_yet(request: web.Request) -> web.StreamResponse:
    await json_body(request)
    raise ApiError(501, f"{request.method} {request.path}: user networks and volumes are not "
                        "available in this engine yet")


async def list_volumes(request: web.Request) -> web.StreamResponse:
    params.filters(request)
    return reply({"Volumes": [], "Warnings": []})


async def inspect_volume(request: web.Request) -> web.StreamResponse:
    raise NotFound(f"get {request.match_info['name']}: no such volume")


async def prune_networks(request: web.Request) -> web.StreamResponse:
    params.filters(request)
    return reply({"NetworksDeleted": None})


async def prune_volumes(request: web.Request) -> web.StreamResponse:
    params.filters(request)
    return reply({"VolumesDeleted": None, "SpaceReclaimed": 0})


def routes(r: Router) -> None:
    r.get("/networks", list_networks)
    r.post("/networks/create", not_yet)
    r.post("/networks/prune", prune_networks)
    r.get("/networks/{id}", inspect_network)
    r.post("/networks/{id}/connect", not_yet)
    r.post("/networks/{id}/disconnect", not_yet)
    r.delete("/networks/{id}", not_yet)
    r.get("/volumes", list_volumes)
    r.post("/volumes/create", not_yet)
    r.post("/volumes/prune", prune_volumes)
    r.get("/volumes/{name}", inspect_volume)
    r.delete("/volumes/{name}", inspect_volume)
