"""The distribution spec's error codes and the JSON body they travel in."""

from __future__ import annotations

import json

__all__ = ["CODES", "RegistryError", "error_body"]

# code -> (HTTP status, the spec's message)
CODES: dict[str, tuple[int, str]] = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (404, "manifest references a manifest or blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown to registry"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "the operation is unsupported"),
    "TOOMANYREQUESTS": (429, "too many requests"),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
    "RANGE_INVALID": (416, "invalid content range"),
}


class RegistryError(Exception):
    """A request the registry refuses; ``status`` overrides the code's usual one."""

    def __init__(self, code: str, detail: str = "", status: int | None = None) -> None:
        super().__init__(f"{code.lower()}: {detail}" if detail else code.lower())
        self.code = code
        self.detail = detail
        self.status = status if status is not None else CODES[code][0]


def error_body(err: RegistryError) -> bytes:
    """``{"errors": [{"code", "message", "detail"}]}`` as the spec writes it."""
    entry: dict[str, object] = {"code": err.code, "message": CODES[err.code][1]}
    if err.detail:
        entry["detail"] = err.detail
    return json.dumps({"errors": [entry]}).encode()
