"""``run`` pulls a missing image from the registry its reference names (``--pull``)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


@pytest.fixture
def registry_port(tmp_path: Path) -> Iterator[int]:
    """A dockyard registry on 127.0.0.1 (ephemeral port), in a thread of this test."""
    from dockyard.distribution.server import start

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port, stop = asyncio.run_coroutine_threadsafe(
        start(tmp_path / "registry", "127.0.0.1", 0, False), loop).result(10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_run_pulls_what_is_missing(dockyard: Dockyard, registry_port: int) -> None:
    ref = f"127.0.0.1:{registry_port}/tools/box:1"
    dockyard.ok("run", "--rm", "--network", "none", "busybox", "true")  # makes busybox
    dockyard.ok("tag", "busybox", ref)
    dockyard.ok("push", ref)
    dockyard.ok("rmi", ref)
    r = dockyard("run", "--rm", "--pull", "never", "--network", "none", ref, "true")
    assert r.code == 125 and f"Unable to find image '{ref}' locally" in r.err
    r = dockyard("run", "--rm", "--network", "none", ref, "echo", "pulled")
    assert (r.code, r.out) == (0, "pulled\n"), r.err
    assert f"Unable to find image '{ref}' locally" in r.err
    assert "Pulling from tools/box" in r.err  # progress goes to stderr, as docker's
    assert ref.split("/", 1)[1].replace(":", " ") in " ".join(
        dockyard.ok("images", "--format", "{{.Repository}} {{.Tag}}").split())
    r = dockyard("run", "--rm", "--pull", "always", "--network", "none", ref, "true")
    assert r.code == 0, r.err
    assert "Unable to find image" not in r.err
