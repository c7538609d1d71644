"""Network endpoints over the engine's network verbs (``Engine.networks``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx, json_body, reply
from dockyard.api.validate import expect_dict
from dockyard.errors import InvalidArgument

__all__ = ["routes"]


def _str(body: dict[str, Any], key: str, where: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidArgument(f"{where}.{key}: expected a string")
    return value


def _strmap(body: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = expect_dict(body.get(key), f"{where}.{key}")
    if not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgument(f"{where}.{key}: expected string values")
    return dict(value)


async def list_networks(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    wanted = params.filters(request)
    return reply(await c.run(lambda: c.engine().networks.ls(wanted)))


async def inspect(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    return reply(await c.run(lambda: c.engine().networks.inspect(ref)))


async def create(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    body = await json_body(request, required=True)
    name = _str(body, "Name", "NetworkCreateRequest")
    if not name:
        raise InvalidArgument("NetworkCreateRequest.Name: missing")
    if body.get("EnableIPv6"):
        raise InvalidArgument("NetworkCreateRequest.EnableIPv6: IPv6 is not supported")
    ipam = expect_dict(body.get("IPAM"), "NetworkCreateRequest.IPAM")
    configs = ipam.get("Config") or []
    if not isinstance(configs, list) or len(configs) > 1 or not all(
            isinstance(x, dict) for x in configs):
        raise InvalidArgument("NetworkCreateRequest.IPAM.Config: at most one pool (an object)")
    pool: dict[str, Any] = configs[0] if configs else {}
    for flag in ("Internal", "Attachable"):
        if not isinstance(body.get(flag, False), bool | None):
            raise InvalidArgument(f"NetworkCreateRequest.{flag}: expected a boolean")
    result = await c.run(lambda: c.engine().networks.create(
        name, driver=_str(body, "Driver", "NetworkCreateRequest") or "bridge",
        subnet=_str(pool, "Subnet", "IPAM.Config"), gateway=_str(pool, "Gateway", "IPAM.Config"),
        ip_range=_str(pool, "IPRange", "IPAM.Config"), internal=bool(body.get("Internal")),
        attachable=bool(body.get("Attachable")),
        labels=_strmap(body, "Labels", "NetworkCreateRequest"),
        options=_strmap(body, "Options", "NetworkCreateRequest")))
    return reply(result, status=201)


async def remove(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    await c.run(lambda: c.engine().networks.remove(ref))
    return web.Response(status=204)


async def connect(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    body = await json_body(request, required=True)
    container = _str(body, "Container", "NetworkConnectRequest")
    if not container:
        raise InvalidArgument("NetworkConnectRequest.Container: missing")
    endpoint = expect_dict(body.get("EndpointConfig"), "EndpointConfig")
    ipam = expect_dict(endpoint.get("IPAMConfig"), "EndpointConfig.IPAMConfig")
    aliases = endpoint.get("Aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InvalidArgument("EndpointConfig.Aliases: expected a list of strings")
    ip = _str(ipam, "IPv4Address", "EndpointConfig.IPAMConfig")
    await c.run(lambda: c.engine().networks.connect(ref, container, ip=ip, aliases=aliases))
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    ref = request.match_info["id"]
    body = await json_body(request, required=True)
    container = _str(body, "Container", "NetworkDisconnectRequest")
    if not container:
        raise InvalidArgument("NetworkDisconnectRequest.Container: missing")
    force = body.get("Force") is True
    await c.run(lambda: c.engine().networks.disconnect(ref, container, force))
    return web.Response(status=200)


async def prune(request: web.Request) -> web.StreamResponse:
    c = ctx(request)
    if params.filters(request):
        raise InvalidArgument("network prune: filters are not supported")
    removed = await c.run(lambda: c.engine().networks.prune())
    return reply({"NetworksDeleted": removed or None})


def routes(r: Router) -> None:
    r.get("/networks", list_networks)
    r.post("/networks/create", create)
    r.post("/networks/prune", prune)
    r.get("/networks/{id}", inspect)
    r.post("/networks/{id}/connect", connect)
    r.post("/networks/{id}/disconnect", disconnect)
    r.delete("/networks/{id}", remove)
