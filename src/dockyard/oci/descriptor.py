"""The OCI content descriptor: what a manifest or index points at."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument, InvalidConfig
from dockyard.oci.digest import Digest
from dockyard.oci.platform import Platform

__all__ = ["Descriptor", "json_object"]


def json_object(data: Any, where: str) -> dict[str, Any]:
    """``data`` if it is a JSON object, else an error naming ``where``."""
    if not isinstance(data, dict):
        raise InvalidConfig(f"{where}: want a json object")
    return data


@dataclass(frozen=True)
class Descriptor:
    """``mediaType``, ``digest``, ``size`` and the optional fields of a descriptor."""

    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str = ""

    @classmethod
    def from_json(cls, data: Any, where: str = "descriptor") -> Descriptor:
        """Parse and check a descriptor; errors name ``where`` and the field."""
        obj = json_object(data, where)
        mt, size = obj.get("mediaType"), obj.get("size")
        if not isinstance(mt, str) or not mt:
            raise InvalidConfig(f"{where}.mediaType: want a non-empty string")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidConfig(f"{where}.size: want a non-negative integer")
        try:
            digest = Digest.parse(obj.get("digest"))  # type: ignore[arg-type]
        except InvalidArgument as err:
            raise InvalidConfig(f"{where}.digest: {err}") from None
        ann = obj.get("annotations") or {}
        if not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values()):
            raise InvalidConfig(f"{where}.annotations: want a map of strings")
        plat = obj.get("platform")
        return cls(
            mt, digest, size, dict(ann),
            Platform.from_json(plat, f"{where}.platform") if plat is not None else None,
            tuple(str(u) for u in obj.get("urls") or ()),
            str(obj.get("artifactType") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest),
                               "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out
