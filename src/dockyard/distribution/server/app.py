"""The HTTP side of the registry: OCI distribution spec 1.1 handlers over
:class:`RegistryStorage`. One catch-all route takes ``/v2/<tail>``; ``routes.route``
says which handler it is for."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockyard.distribution.server.errors import RegistryError, error_body
from dockyard.distribution.server.htpasswd import Htpasswd
from dockyard.distribution.server.manifests import MAX_MANIFEST, check_manifest
from dockyard.distribution.server.names import (
    check_name,
    check_upload_id,
    parse_digest,
    split_reference,
)
from dockyard.distribution.server.routes import MAX_PAGE, need_of, paginate, route
from dockyard.distribution.server.storage import RegistryStorage, Upload
from dockyard.distribution.server.tokens import Need, TokenAuth
from dockyard.oci import Digest, mediatypes

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["Registry", "make_app"]

_CHUNK = 1 << 20
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
Handler = Callable[..., Awaitable["web.StreamResponse"]]


class Registry:
    """Request handlers bound to one storage root."""

    def __init__(self, root: Path, read_only: bool = False,
                 htpasswd: Htpasswd | None = None, tokens: TokenAuth | None = None) -> None:
        self.storage = RegistryStorage(root)
        self.read_only = read_only
        self.htpasswd = htpasswd
        self.tokens = tokens
        self.max_blob = 0  # bytes a blob may hold; 0: no limit

    async def _authorize(self, request: web.Request, need: Need | None) -> str | None:
        """None when the request may go on, else the challenge to answer with."""
        header = request.headers.get("Authorization", "")
        if self.tokens is not None and not self.tokens.allows(header, need):
            return self.tokens.challenge(need)
        if self.htpasswd is not None:
            loop = asyncio.get_running_loop()
            if await loop.run_in_executor(None, self.htpasswd.check, header) is None:
                return 'Basic realm="dockyard"'
        return None

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        try:
            kind, parts = route(request.match_info.get("tail", ""))
            if "name" in parts:
                check_name(parts["name"])
            challenge = await self._authorize(request, need_of(kind, parts, request.method))
            if challenge is not None:
                err = RegistryError("UNAUTHORIZED", "authentication required")
                return web.Response(status=err.status, body=error_body(err),
                                    content_type="application/json",
                                    headers={"WWW-Authenticate": challenge})
            if request.method in _WRITES and self.read_only:
                raise RegistryError("UNSUPPORTED", "the registry is read-only")
            handler: Handler | None = getattr(
                self, f"{kind}_{request.method.lower()}", None)
            if handler is None and request.method == "HEAD":
                handler = getattr(self, f"{kind}_get", None)
            if handler is None:
                raise RegistryError("UNSUPPORTED", f"{request.method} on {kind}")
            return await handler(request, **parts)
        except RegistryError as err:
            return web.Response(status=err.status, body=error_body(err),
                                content_type="application/json")

    # Base.
    async def ping_get(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        return web.json_response({}, headers={
            "Docker-Distribution-API-Version": "registry/2.0"})

    # Blobs.
    def _blob_digest(self, name: str, ref: str) -> Digest:
        d = parse_digest(ref)
        if not self.storage.has_blob(name, d):
            raise RegistryError("BLOB_UNKNOWN", f"blob {d} unknown in {name}")
        return d

    async def blob_get(self, request: web.Request, name: str, ref: str) -> web.StreamResponse:
        from aiohttp import web

        d = self._blob_digest(name, ref)
        path = self.storage.blob_path(d)
        headers = {"Docker-Content-Digest": str(d), "Content-Type": "application/octet-stream",
                   "Accept-Ranges": "bytes", "ETag": f'"{d}"'}
        if request.method == "HEAD":
            headers["Content-Length"] = str(path.stat().st_size)
            return web.Response(status=200, headers=headers)
        return web.FileResponse(path, headers=headers)  # Range and sendfile

    async def blob_delete(self, request: web.Request, name: str, ref: str) -> web.StreamResponse:
        from aiohttp import web

        d = parse_digest(ref)
        if not self.storage.delete_blob(name, d):
            raise RegistryError("BLOB_UNKNOWN", f"blob {d} unknown in {name}")
        return web.Response(status=202, headers={"Docker-Content-Digest": str(d)})

    # Uploads.
    def _upload_headers(self, name: str, upload_id: str, size: int) -> dict[str, str]:
        return {"Location": f"/v2/{name}/blobs/uploads/{upload_id}",
                "Range": f"0-{max(size - 1, 0)}", "Docker-Upload-UUID": upload_id}

    def _created(self, name: str, d: Digest) -> web.StreamResponse:
        from aiohttp import web

        return web.Response(status=201, headers={
            "Location": f"/v2/{name}/blobs/{d}", "Docker-Content-Digest": str(d)})

    async def uploads_post(self, request: web.Request, name: str) -> web.StreamResponse:
        from aiohttp import web

        q = request.query
        if "mount" in q:
            d = parse_digest(q["mount"])
            source = q.get("from", "")
            readable = self.tokens is None or self.tokens.allows(
                request.headers.get("Authorization", ""), Need("repository", source, "pull"))
            if source and check_name(source) and readable and self.storage.has_blob(source, d):
                self.storage.link_blob(name, d)
                return self._created(name, d)
            # otherwise fall through to an ordinary upload session, as the spec allows
        upload_id, up = self.storage.new_upload(name)
        if "digest" in q:  # monolithic POST
            d = parse_digest(q["digest"])
            try:
                await self._receive(request, up, start=0)
                return await self._finish(name, upload_id, up, d)
            except BaseException:
                self.storage.drop_upload(upload_id)
                raise
        return web.Response(status=202, headers=self._upload_headers(name, upload_id, 0))

    def _session(self, name: str, upload_id: str) -> Upload:
        up = self.storage.get_upload(name, check_upload_id(upload_id))
        if up is None:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", f"no upload {upload_id} in {name}")
        return up

    async def _receive(self, request: web.Request, up: Upload, start: int) -> int:
        """Append the body at ``start`` (the upload's current size); a body shorter than
        its Content-Length is cut back so the upload stays as it was."""
        if start != up.size():
            raise RegistryError("RANGE_INVALID", f"chunk starts at {start}, upload holds "
                                f"{up.size()} bytes", status=416)
        if start and up.hasher is not None and up.hasher.size != start:
            up.hasher = None
        limit = self.max_blob
        if limit and start + (request.content_length or 0) > limit:
            raise RegistryError("SIZE_INVALID", f"blob over the {limit} bytes allowed",
                                status=413)
        written = 0
        with open(up.data, "ab") as f:
            try:
                while chunk := await request.content.read(_CHUNK):
                    if limit and start + written + len(chunk) > limit:
                        raise RegistryError("SIZE_INVALID",
                                            f"blob over the {limit} bytes allowed", status=413)
                    f.write(chunk)
                    written += len(chunk)
                    if up.hasher is not None:
                        up.hasher.update(chunk)
            except BaseException:
                f.truncate(start)
                up.hasher = None
                raise
            want = request.content_length
            if want is not None and written != want:
                f.truncate(start)
                up.hasher = None
                raise RegistryError("SIZE_INVALID", f"body held {written} bytes, "
                                    f"Content-Length said {want}")
        return written

    async def upload_get(self, request: web.Request, name: str, id: str) -> web.StreamResponse:
        from aiohttp import web

        up = self._session(name, id)
        return web.Response(status=204, headers=self._upload_headers(name, id, up.size()))

    async def upload_patch(self, request: web.Request, name: str, id: str
                           ) -> web.StreamResponse:
        from aiohttp import web

        up = self._session(name, id)
        start = up.size()
        span = request.headers.get("Content-Range")
        if span:
            m = re.fullmatch(r"(?:bytes )?(\d{1,15})-(\d{1,15})", span.strip())
            if not m or int(m[2]) < int(m[1]):
                raise RegistryError("RANGE_INVALID", f"bad Content-Range {span[:60]!r}",
                                    status=416)
            start = int(m[1])
            length = int(m[2]) - start + 1
            if request.content_length is not None and request.content_length != length:
                raise RegistryError("RANGE_INVALID", "Content-Range and Content-Length "
                                    "disagree", status=416)
        await self._receive(request, up, start)
        return web.Response(status=202, headers=self._upload_headers(name, id, up.size()))

    async def upload_put(self, request: web.Request, name: str, id: str) -> web.StreamResponse:
        up = self._session(name, id)
        if "digest" not in request.query:
            raise RegistryError("DIGEST_INVALID", "digest: missing from the query")
        d = parse_digest(request.query["digest"])
        await self._receive(request, up, up.size())
        return await self._finish(name, id, up, d)

    async def _finish(self, name: str, upload_id: str, up: Upload, d: Digest
                      ) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        actual = await loop.run_in_executor(None, self.storage.upload_digest, up, d.algorithm)
        if actual != d:
            self.storage.drop_upload(upload_id)
            raise RegistryError("DIGEST_INVALID", f"content is {actual}, not {d}")
        await loop.run_in_executor(None, self.storage.commit_upload, name, upload_id, up, d)
        return self._created(name, d)

    async def upload_delete(self, request: web.Request, name: str, id: str
                            ) -> web.StreamResponse:
        from aiohttp import web

        self._session(name, id)
        self.storage.drop_upload(id)
        return web.Response(status=204)

    # Manifests.
    def _resolve(self, name: str, ref: str) -> Digest:
        tag, d = split_reference(ref)
        if d is None:
            d = self.storage.resolve_tag(name, tag)
        if d is None or self.storage.manifest_type(name, d) is None:
            raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref} unknown in {name}")
        return d

    async def manifest_get(self, request: web.Request, name: str, ref: str
                           ) -> web.StreamResponse:
        from aiohttp import web

        d = self._resolve(name, ref)
        media_type = self.storage.manifest_type(name, d) or mediatypes.OCI_MANIFEST
        body = self.storage.blob_path(d).read_bytes()
        headers = {"Docker-Content-Digest": str(d), "Content-Type": media_type,
                   "ETag": f'"{d}"'}
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return web.Response(status=200, headers=headers)
        return web.Response(status=200, body=body, headers=headers)

    async def manifest_put(self, request: web.Request, name: str, ref: str
                           ) -> web.StreamResponse:
        from aiohttp import web

        tag, want = split_reference(ref)
        if request.content_length is not None and request.content_length > MAX_MANIFEST:
            raise RegistryError("SIZE_INVALID", f"manifest over {MAX_MANIFEST} bytes",
                                status=413)
        body = await request.content.read(MAX_MANIFEST + 1)
        if len(body) > MAX_MANIFEST:
            raise RegistryError("SIZE_INVALID", f"manifest over {MAX_MANIFEST} bytes",
                                status=413)
        d = Digest.of(body, want.algorithm if want else "sha256")
        if want is not None and d != want:
            raise RegistryError("DIGEST_INVALID", f"manifest is {d}, not {want}")
        checked = check_manifest(body, request.headers.get("Content-Type", ""))
        for blob in checked.blobs:
            if not self.storage.has_blob(name, blob):
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", f"blob {blob} unknown in {name}")
        for child in checked.children:
            if self.storage.manifest_type(name, child) is None:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN",
                                    f"manifest {child} unknown in {name}")
        descriptor: dict[str, Any] = {"mediaType": checked.media_type, "digest": str(d),
                                      "size": len(body)}
        if checked.artifact_type:
            descriptor["artifactType"] = checked.artifact_type
        if checked.annotations:
            descriptor["annotations"] = checked.annotations
        self.storage.put_manifest(name, d, checked.media_type, body, tag,
                                  checked.subject, descriptor)
        headers = {"Location": f"/v2/{name}/manifests/{d}", "Docker-Content-Digest": str(d)}
        if checked.subject is not None:
            headers["OCI-Subject"] = str(checked.subject)
        return web.Response(status=201, headers=headers)

    async def manifest_delete(self, request: web.Request, name: str, ref: str
                              ) -> web.StreamResponse:
        from aiohttp import web

        tag, d = split_reference(ref)
        if d is None:
            if not self.storage.delete_tag(name, tag):
                raise RegistryError("MANIFEST_UNKNOWN", f"tag {tag} unknown in {name}")
        elif not self.storage.delete_manifest(name, d):
            raise RegistryError("MANIFEST_UNKNOWN", f"manifest {d} unknown in {name}")
        return web.Response(status=202)

    # Discovery.
    async def tags_get(self, request: web.Request, name: str) -> web.StreamResponse:
        from aiohttp import web

        if not self.storage.has_repo(name):
            raise RegistryError("NAME_UNKNOWN", f"repository {name} unknown")
        page, link = paginate(self.storage.tags(name), request.query,
                               f"/v2/{name}/tags/list", None)
        return web.json_response({"name": name, "tags": page},
                                 headers={"Link": link} if link else None)

    async def catalog_get(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        repos = sorted(self.storage.repositories())
        page, link = paginate(repos, request.query, "/v2/_catalog", MAX_PAGE)
        return web.json_response({"repositories": page},
                                 headers={"Link": link} if link else None)

    async def referrers_get(self, request: web.Request, name: str, ref: str
                            ) -> web.StreamResponse:
        from aiohttp import web

        subject = parse_digest(ref)
        found = self.storage.referrers(name, subject)
        headers = {}
        wanted = request.query.get("artifactType")
        if wanted:
            found = [r for r in found if r.get("artifactType") == wanted]
            headers["OCI-Filters-Applied"] = "artifactType"
        doc = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": found}
        return web.json_response(doc, content_type=mediatypes.OCI_INDEX, headers=headers)


async def _elsewhere(request: web.Request) -> web.StreamResponse:
    """Paths outside ``/v2/`` (or folded out of it by ``..``) get a spec error body."""
    from aiohttp import web

    err = RegistryError("NAME_UNKNOWN", f"no such endpoint {request.path[:200]}")
    return web.Response(status=err.status, body=error_body(err),
                        content_type="application/json")


def make_app(root: Path, read_only: bool = False, htpasswd: Path | None = None,
             tokens: TokenAuth | None = None, max_blob: int = 0) -> web.Application:
    """The aiohttp application serving ``/v2/`` from ``root`` (basic auth against
    ``htpasswd``, bearer tokens checked by ``tokens``, when given; blobs up to
    ``max_blob`` bytes when not 0)."""
    from aiohttp import web

    registry = Registry(root, read_only, Htpasswd(htpasswd) if htpasswd else None, tokens)
    registry.max_blob = max_blob
    app = web.Application(client_max_size=MAX_MANIFEST + 1)
    app.router.add_route("*", "/v2/{tail:.*}", registry.dispatch)
    app.router.add_route("*", "/v2", registry.dispatch)
    app.router.add_route("*", "/{tail:.*}", _elsewhere)
    return app
