"""The :class:`Image` value the store hands out, and Docker's inspect/history shapes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dockyard.oci import Digest, ImageConfig, Manifest, parse_reference

__all__ = ["Image", "docker_config", "familiar"]

# Keys docker prints in ``Config`` even when the image leaves them unset.
_CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
    "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
    "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
    "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
}


def familiar(name: str) -> str:
    """``docker.io/library/busybox:latest`` → ``busybox:latest``."""
    return parse_reference(name, default_tag="").familiar()


def docker_config(config: dict[str, Any]) -> dict[str, Any]:
    """An image's runtime config with docker's default keys filled in."""
    out = dict(_CONFIG_DEFAULTS)
    out.update(config)
    return out


@dataclass(frozen=True)
class Image:
    """A stored image: id (config digest), names, manifest, config, sizes."""

    id: Digest
    names: tuple[str, ...]          # fully qualified tags
    repo_digests: tuple[str, ...]   # fully qualified name@digest
    manifest_digest: Digest
    manifest: Manifest
    config: ImageConfig
    size: int
    added: float

    @property
    def short_id(self) -> str:
        return self.id.short

    @property
    def diff_ids(self) -> tuple[Digest, ...]:
        return self.config.diff_ids

    @property
    def chain_ids(self) -> list[Digest]:
        return self.config.chain_ids()

    @property
    def chain_id(self) -> Digest | None:
        """The top layer's chain id: the snapshot a container starts from."""
        ids = self.chain_ids
        return ids[-1] if ids else None

    @property
    def repo_tags(self) -> list[str]:
        return [familiar(n) for n in self.names]

    def inspect(self) -> dict[str, Any]:
        """``docker image inspect``'s object."""
        cfg = self.config
        comment = str(cfg.extra.get("comment") or "")
        if not comment and cfg.history:
            comment = cfg.history[-1].comment
        out: dict[str, Any] = {
            "Id": str(self.id),
            "RepoTags": self.repo_tags,
            "RepoDigests": [familiar(d) for d in self.repo_digests],
            "Parent": "",
            "Comment": comment,
            "Created": cfg.created,
            "DockerVersion": str(cfg.extra.get("docker_version") or ""),
            "Author": cfg.author,
            "Config": docker_config(cfg.config),
            "Architecture": cfg.architecture,
            "Os": cfg.os,
            "Size": self.size,
            "GraphDriver": {"Name": "overlayfs", "Data": None},
            "RootFS": {"Type": "layers", "Layers": [str(d) for d in cfg.diff_ids]},
            "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
        }
        if cfg.variant:
            out["Variant"] = cfg.variant
        return out

    def history(self) -> list[dict[str, Any]]:
        """``docker history`` rows, newest first: Id (or ``<missing>``), Created,
        CreatedBy, Size, Comment."""
        sizes = [d.size for d in self.manifest.layers]
        rows: list[dict[str, Any]] = []
        if not self.config.history:  # images without history: one row per layer
            rows = [{"Created": self.config.created, "CreatedBy": "", "Size": s,
                     "Comment": ""} for s in sizes]
        layer = 0
        for h in self.config.history:
            size = 0
            if not h.empty_layer and layer < len(sizes):
                size = sizes[layer]
                layer += 1
            rows.append({"Created": h.created, "CreatedBy": h.created_by, "Size": size,
                         "Comment": h.comment})
        rows.reverse()
        for i, row in enumerate(rows):
            row["Id"] = str(self.id) if i == 0 else "<missing>"
        return rows
