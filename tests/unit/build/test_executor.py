"""The executor seam: a recording fake satisfies the Protocol the engine will implement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from dockyard.build.executor import (
    BaseImage,
    CopyRequest,
    CopySource,
    RunFailed,
    RunRequest,
    StageExecutor,
)


class RecordingExecutor:
    """Records requests; results are keyed by cache key like a real cache would be."""

    def __init__(self) -> None:
        self.calls: list[object] = []
        self.results: dict[str, str] = {}

    def resolve_image(self, ref: str, platform: str) -> BaseImage:
        self.calls.append(("resolve", ref, platform))
        return BaseImage("sha256:" + ref, None if ref == "scratch" else ref, {"Env": []})

    def cached(self, cache_key: str) -> str | None:
        return self.results.get(cache_key)

    def run(self, request: RunRequest) -> str:
        self.calls.append(request)
        if request.args and request.args[0] == "false":
            raise RunFailed(1, ["boom"])
        self.results[request.cache_key] = "snap-" + request.cache_key
        return self.results[request.cache_key]

    def copy(self, request: CopyRequest) -> str:
        self.calls.append(request)
        self.results[request.cache_key] = "snap-" + request.cache_key
        return self.results[request.cache_key]

    def commit(self, snapshot: str | None, config: Mapping[str, object],
               history: Sequence[Mapping[str, object]], tags: Sequence[str]) -> str:
        self.calls.append(("commit", snapshot, tuple(tags)))
        return "sha256:image"


def test_fake_satisfies_protocol() -> None:
    fake: StageExecutor = RecordingExecutor()
    assert isinstance(fake, StageExecutor)
    assert not isinstance(object(), StageExecutor)


def test_requests_carry_keys_and_failures_carry_exit_codes(tmp_path: Path) -> None:
    fake = RecordingExecutor()
    base = fake.resolve_image("busybox", "linux/amd64")
    snap = fake.run(RunRequest("k1", base.snapshot, ["sh", "-c", "true"], {"PATH": "/bin"}))
    assert fake.cached("k1") == snap
    snap = fake.copy(CopyRequest("k2", snap, "/dst/", sources=[CopySource(["a"], root=tmp_path)]))
    assert fake.commit(snap, {}, [], ["app:latest"]) == "sha256:image"
    with pytest.raises(RunFailed) as info:
        fake.run(RunRequest("k3", snap, ["false"], {}))
    assert info.value.exit_code == 1 and info.value.last_lines == ["boom"]
    assert "exit code: 1" in str(info.value)
    assert fake.cached("k3") is None
