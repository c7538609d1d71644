"""Parallel stages share one RUN runner and write its launcher once (a race once made
one of two independent stages fail with "No such file or directory")."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dockyard.settings import Roots


def test_threads_get_one_runner_and_a_whole_launcher(tmp_path: Path) -> None:
    from dockyard.engine.build_executor import BuildExecutor

    executor = BuildExecutor(Roots(tmp_path / "root", tmp_path / "run"))
    with ThreadPoolExecutor(8) as pool:
        runners = list(pool.map(lambda _: executor.runner, range(32)))
    assert len({id(r) for r in runners}) == 1
    with ThreadPoolExecutor(8) as pool:
        argvs = list(pool.map(lambda _: runners[0]._runtime_argv(), range(32)))
    assert all(a == argvs[0] for a in argvs)
    launcher = Path(argvs[0][0])  # the built-in runtime (the default) is started by it
    assert launcher.parent == tmp_path / "root" / "bin"
    assert launcher.stat().st_mode & 0o755 == 0o755
    assert sorted(p.name for p in launcher.parent.iterdir()) == [launcher.name]
