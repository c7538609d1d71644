"""What a registry says a reference is, without pulling it: the manifest's descriptor
and the platforms it offers (``GET /distribution/{name}/json`` of the Engine API)."""

from __future__ import annotations

import json
from typing import Any

from dockyard.distribution.client.driver import Session, raise_for, resolve_base
from dockyard.distribution.client.protocol import Auth, Request, blob_url, endpoint, repo_scope
from dockyard.distribution.client.pull import fetch_manifest
from dockyard.errors import Corrupt
from dockyard.oci import Digest, Reference

__all__ = ["describe"]

MAX_CONFIG = 4 << 20


async def describe(ref: Reference, *, insecure: frozenset[str] = frozenset(),
                   auth: Auth | None = None) -> dict[str, Any]:
    """``{"Descriptor": {mediaType, digest, size}, "Platforms": [{architecture, os,
    ...}]}``: an index lists its platforms; a single manifest's come from its config."""
    base = await resolve_base(ref.domain, insecure)
    session = Session(auth, verify=base == endpoint(ref.domain, insecure))
    try:
        body, media_type, digest = await fetch_manifest(session, base, ref)
        try:
            doc = json.loads(body)
        except ValueError:
            raise Corrupt(f"manifest for {ref.familiar()}: not JSON") from None
        platforms: list[dict[str, Any]] = []
        if isinstance(doc.get("manifests"), list):
            platforms = [dict(m["platform"]) for m in doc["manifests"]
                         if isinstance(m, dict) and isinstance(m.get("platform"), dict)]
        elif isinstance(doc.get("config"), dict) and "digest" in doc["config"]:
            config = await _blob(session, base, ref, Digest.parse(doc["config"]["digest"]))
            platforms = [{k: config[k] for k in ("architecture", "os", "variant")
                          if isinstance(config.get(k), str)}]
        return {"Descriptor": {"mediaType": media_type or doc.get("mediaType", ""),
                               "digest": str(digest), "size": len(body)},
                "Platforms": platforms}
    finally:
        await session.close()


async def _blob(session: Session, base: str, ref: Reference, digest: Digest) -> dict[str, Any]:
    resp = await session.send(Request("GET", blob_url(base, ref, digest)), repo_scope(ref))
    try:
        if resp.status != 200:
            raise raise_for(f"config of {ref.familiar()}", resp.status, await resp.read())
        data = await resp.content.read(MAX_CONFIG + 1)
    finally:
        resp.release()
    if len(data) > MAX_CONFIG or Digest.of(data, digest.algorithm) != digest:
        raise Corrupt(f"config of {ref.familiar()}: does not match {digest}")
    try:
        config = json.loads(data)
    except ValueError:
        raise Corrupt(f"config of {ref.familiar()}: not JSON") from None
    return config if isinstance(config, dict) else {}
