"""Reading a request: which endpoint a ``/v2/<tail>`` is (repository names hold
slashes, so the tail is split the way the spec's grammar is), the token scope it needs,
and ``n``/``last`` paging."""

from __future__ import annotations

import re
from typing import Any

from dockyard.distribution.server.errors import RegistryError
from dockyard.distribution.server.tokens import Need

__all__ = ["MAX_PAGE", "need_of", "paginate", "route"]

MAX_PAGE = 1000  # hard cap on n for catalog (CVE-2023-2253) and tags pages
_ROUTES = [
    ("upload", re.compile(r"(?P<name>.+)/blobs/uploads/(?P<id>[^/]+)")),
    ("uploads", re.compile(r"(?P<name>.+)/blobs/uploads/?")),
    ("blob", re.compile(r"(?P<name>.+)/blobs/(?P<ref>[^/]+)")),
    ("manifest", re.compile(r"(?P<name>.+)/manifests/(?P<ref>[^/]+)")),
    ("tags", re.compile(r"(?P<name>.+)/tags/list")),
    ("referrers", re.compile(r"(?P<name>.+)/referrers/(?P<ref>[^/]+)")),
]


def route(tail: str) -> tuple[str, dict[str, str]]:
    """``("blob", {"name": "a/b", "ref": "sha256:…"})`` for ``a/b/blobs/sha256:…``."""
    if tail in ("", "/"):
        return "ping", {}
    if tail == "_catalog":
        return "catalog", {}
    for kind, pattern in _ROUTES:
        m = pattern.fullmatch(tail)
        if m:
            return kind, m.groupdict()
    raise RegistryError("NAME_UNKNOWN", f"no such endpoint /v2/{tail[:200]}")


def _page_size(query: Any) -> int | None:
    text = query.get("n")
    if text is None:
        return None
    if not text.isdigit() or len(text) > 9:
        raise RegistryError("PAGINATION_NUMBER_INVALID", f"n: want a number, got {text[:50]!r}")
    return int(text)


def paginate(items: list[str], query: Any, url: str, cap: int | None) -> tuple[
        list[str], str | None]:
    n = _page_size(query)
    if cap is not None and n is not None and n > cap:
        raise RegistryError("PAGINATION_NUMBER_INVALID", f"n: at most {cap}, got {n}")
    last = query.get("last")
    if last:
        items = [i for i in items if i > last]
    if n is None:
        n = cap if cap is not None else len(items)
    page = items[:n]
    link = None
    if len(items) > n and page:
        link = f'<{url}?n={n}&last={page[-1]}>; rel="next"'
    return page, link


def need_of(kind: str, parts: dict[str, str], method: str) -> Need | None:
    """The token scope a request needs (None for the ping)."""
    if kind == "ping":
        return None
    if kind == "catalog":
        return Need("registry", "catalog", "*")
    action = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method, "push")
    return Need("repository", parts["name"], action)
