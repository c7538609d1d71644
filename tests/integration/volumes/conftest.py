"""The volume tests drive the real ``dockyard`` command (see tests/integration/cli)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli.conftest import Dockyard, _remove_parent_cgroups, dockyard

__all__ = ["Dockyard", "_remove_parent_cgroups", "dockyard", "volume_image"]


@pytest.fixture
def volume_image(dockyard: Dockyard, tmp_path: Path) -> str:
    """``volimg``: busybox with ``/data/f`` (owner 7:8, dir mode 0750) and VOLUME /data."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox\n"
        "RUN mkdir /data && echo img > /data/f && chown -R 7:8 /data && chmod 750 /data\n"
        "VOLUME /data\n")
    dockyard.ok("build", "-q", "-t", "volimg", str(ctx))
    return "volimg"
