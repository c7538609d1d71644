"""``login``: check credentials against a registry's ``/v2/`` before storing them."""

from __future__ import annotations

from dockyard.distribution.client.driver import Session, raise_for, resolve_base
from dockyard.distribution.client.protocol import Auth, Request, endpoint

__all__ = ["check_login"]


async def check_login(domain: str, username: str, password: str,
                      insecure: frozenset[str] = frozenset()) -> None:
    """Raise ``Forbidden`` unless the registry accepts the credentials."""
    base = await resolve_base(domain, insecure)
    session = Session(Auth(username, password), verify=base == endpoint(domain, insecure))
    try:
        resp = await session.send(Request("GET", base + "/v2/"), "")
        try:
            if resp.status != 200:
                raise raise_for(f"login to {domain}", resp.status, await resp.read())
        finally:
            resp.release()
    finally:
        await session.close()
