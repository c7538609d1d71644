"""Listing a repository's tags, following the registry's ``Link`` pages."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin

from dockyard.distribution.client.driver import Session, raise_for, resolve_base
from dockyard.distribution.client.protocol import Auth, Request, endpoint, repo_scope
from dockyard.errors import Corrupt
from dockyard.oci import Reference

__all__ = ["list_tags"]

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_MAX_PAGES = 1000


async def list_tags(ref: Reference, *, insecure: frozenset[str] = frozenset(),
                    auth: Auth | None = None, page: int = 0) -> list[str]:
    """Every tag of ``ref``'s repository, in the registry's order (asking for pages of
    ``page`` tags when given)."""
    base = await resolve_base(ref.domain, insecure)
    url = f"{base}/v2/{ref.path}/tags/list" + (f"?n={page}" if page else "")
    tags: list[str] = []
    session = Session(auth, verify=base == endpoint(ref.domain, insecure))
    try:
        for _ in range(_MAX_PAGES):
            resp = await session.send(Request("GET", url), repo_scope(ref))
            try:
                body = await resp.read()
                if resp.status != 200:
                    raise raise_for(f"tags of {ref.familiar_name}", resp.status, body)
                link = resp.headers.get("Link", "")
            finally:
                resp.release()
            try:
                found = json.loads(body).get("tags") or []
            except (ValueError, AttributeError):
                raise Corrupt(f"tags of {ref.familiar_name}: reply is not json") from None
            tags += [t for t in found if isinstance(t, str)]
            m = _NEXT.search(link)
            if not m:
                return tags
            url = urljoin(url, m[1])
        raise Corrupt(f"tags of {ref.familiar_name}: more than {_MAX_PAGES} pages")
    finally:
        await session.close()
