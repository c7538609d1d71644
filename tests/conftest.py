"""Fixtures shared by every test, and the end-of-run leak check.

Each session gets a short random token. Tests put it into the names of everything
they create on the machine that is not under a temporary directory: cgroup parents,
network namespaces, bridges, nftables tables. At the end of the run, anything still
carrying the token, or mounted or running from the session's temporary directory,
fails the run.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.busybox import copy_rootfs, make_busybox_rootfs
from tests.support.leaks import find_leaks, remove_cgroup_parent, stop_spawners, stop_spawners_in

TOKEN = os.environ.setdefault("DOCKYARD_TEST_TOKEN", "dyt" + secrets.token_hex(3))
# Bridges, veths and the nftables table of engines under test carry the token.
os.environ.setdefault("DOCKYARD_NET_PREFIX", TOKEN)


@pytest.fixture(scope="session")
def session_token() -> str:
    """Short tag (``dyt`` + 6 hex digits) to put into names of kernel objects."""
    return TOKEN


@pytest.fixture(scope="session")
def cgroup_parent() -> Iterator[str]:
    """Parent cgroup name for containers started by tests (leak-checked).

    The empty parent is removed at the end of the session; anything left inside it
    is a leak that the end-of-run check reports.
    """
    name = f"dockyard-test-{TOKEN}"
    yield name
    remove_cgroup_parent(name)


@pytest.fixture(autouse=True)
def _stop_warm_engines(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's ``dockyard`` commands start a warm engine per run root: stop them."""
    # Asked for here, so the tmp dir's fixture outlives this one's teardown.
    tmp = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if tmp is not None:
        from tests.support.warm import stop_engines_under

        stop_engines_under(str(tmp))


@pytest.fixture(scope="session")
def busybox_rootfs_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox rootfs shared by the session. Do not write into it: copy it."""
    return make_busybox_rootfs(tmp_path_factory.mktemp("busybox") / "rootfs")


@pytest.fixture
def busybox_rootfs(busybox_rootfs_template: Path, tmp_path: Path) -> Path:
    """A private, writable busybox rootfs for one test."""
    return copy_rootfs(busybox_rootfs_template, tmp_path / "rootfs")


@pytest.fixture
def roots(tmp_path: Path) -> Iterator[object]:
    """Independent engine state directories (``Roots``) under the test's tmp dir."""
    from dockyard.settings import Roots

    r = Roots(tmp_path / "root", tmp_path / "run")
    yield r
    from tests.support.netclean import clean_networks

    clean_networks(r.root, r.run_root)  # bridges and veths a failed test left


@pytest.fixture(autouse=True)
def _no_lingering_spawner(request: pytest.FixtureRequest) -> Iterator[None]:
    """An idle monitor spawner lingers for a while after its last monitor (so commands
    in a row share it): stop those of the test's run roots when the test ends."""
    path = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if path is not None:
        stop_spawners_in(path)


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory: pytest.TempPathFactory, cgroup_parent: str) -> Iterator[object]:
    """A private Docker daemon (docker.io 20.10) for comparison tests; skips if absent."""
    from tests.support.dockerd import DOCKERD, start_dockerd, stop_dockerd

    if DOCKERD is None:
        pytest.skip("dockerd is not installed (scripts/test installs docker.io)")
    # Short path: dockerd's exec-root holds unix sockets (108-byte limit).
    base = Path(f"/tmp/dy-{TOKEN}-dockerd")
    d = start_dockerd(base, f"{cgroup_parent}-docker")
    try:
        yield d
    finally:
        stop_dockerd(d, f"{cgroup_parent}-docker")


def pytest_configure(config: pytest.Config) -> None:
    # A private, short base directory per session: pytest's numbered dirs are pruned by
    # *other* sessions (it keeps the newest three), which pulled the tmp dirs from under
    # tests running side by side; short paths also keep unix sockets under 108 bytes.
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = f"/tmp/dy-{TOKEN}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.geteuid() != 0 or hasattr(session.config, "workerinput"):
        return
    basetemp = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    from tests.support.warm import stop_engines_under

    stop_engines_under(str(basetemp))  # those of module- and session-scoped fixtures
    stop_spawners(str(basetemp))  # idle ones linger by design; the rest is a leak
    leaks = find_leaks(TOKEN, str(basetemp))
    if leaks:
        lines = [f"  {kind}: {item}" for kind, items in leaks.items() for item in items]
        sys.stderr.write("\nLEAK CHECK FAILED: the tests left these behind:\n")
        sys.stderr.write("\n".join(lines) + "\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    # Keep /tmp small on a long-lived machine: drop our temp tree when all is clean.
    elif exitstatus == 0:
        shutil.rmtree(basetemp, ignore_errors=True)
