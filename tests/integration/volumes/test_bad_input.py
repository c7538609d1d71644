"""Bad storage input through the real command: docker's message, nothing changed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.volumes.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _state(d: Dockyard) -> tuple[list[str], str, list[str]]:
    vols = d.ok("volume", "ls", "-q").split()
    docs = json.dumps([json.loads(d.ok("volume", "inspect", v))[0] for v in vols])
    return d.containers(), docs, d.mounts()


@pytest.mark.parametrize(("flags", "message"), [
    (["--mount", "type=bind,src=/tmp,target=/x,foo=bar"],
     'invalid argument "type=bind,src=/tmp,target=/x,foo=bar" for "--mount" flag: '
     "unexpected key 'foo' in 'foo=bar'"),
    (["--mount", "type=bind,source=rel,target=/x"],
     'invalid mount config for type "bind": invalid mount path: \'rel\' mount path must '
     "be absolute"),
    (["--mount", "type=tmpfs,target=/x,tmpfs-sise=1m"],
     'invalid argument "type=tmpfs,target=/x,tmpfs-sise=1m" for "--mount" flag: '
     "unexpected key 'tmpfs-sise' in 'tmpfs-sise=1m'"),
    (["--tmpfs", "/x:sise=1m"], 'invalid tmpfs option ["sise" "1m"]'),
    (["-v", "/tmp:/x", "-v", "kept:/x"], "Duplicate mount point: /x"),
    (["-v", "/tmp:/x:bogus"], "invalid mode: bogus"),
    (["-v", "x/y:/x"], 'create x/y: "x/y" includes invalid characters for a local volume '
     "name"),
    (["--volumes-from", "nosuch"], "No such container: nosuch"),
])
def test_bad_mounts_change_nothing(dockyard: Dockyard, flags: list[str],
                                   message: str) -> None:
    dockyard.ok("create", "--name", "holder", "--network", "none", "-v", "kept:/k",
                "busybox", "true")
    before = _state(dockyard)
    for verb in ("create", "run"):
        r = dockyard(verb, "--network", "none", *flags, "busybox", "true")
        assert r.code == 125, r.err
        assert r.err.splitlines()[-1].startswith(f"Error: {message}"), r.err
        assert _state(dockyard) == before


@pytest.mark.slow
def test_removing_a_volume_in_use(dockyard: Dockyard, tmp_path: Path) -> None:
    cid = dockyard.ok("run", "-d", "--network", "none", "-v", "busy:/d", "busybox", "sh",
                      "-c", "echo keep > /d/f; sleep 60").strip()
    dockyard.ok("exec", cid, "cat", "/d/f")
    before = _state(dockyard)
    for args in (["volume", "rm", "busy"], ["volume", "rm", "-f", "busy"]):
        r = dockyard(*args)
        assert r.code == 1
        assert r.err == f"Error: remove busy: volume is in use - [{cid}]\n"
        assert _state(dockyard) == before
    assert dockyard.ok("exec", cid, "cat", "/d/f") == "keep\n"
    r = dockyard("volume", "rm", "nosuch")
    assert (r.code, r.err) == (1, "Error: No such volume: nosuch\n")
    r = dockyard("volume", "inspect", "nosuch")
    assert (r.code, r.out, r.err) == (1, "[]\n", "Error: No such volume: nosuch\n")
    r = dockyard("volume", "create", "-o", "foo=bar", "v3")
    assert (r.code, r.err) == (1, 'Error: create v3: invalid option: "foo"\n')
    assert _state(dockyard) == before


def test_failed_create_leaves_no_anonymous_volume(dockyard: Dockyard,
                                                  volume_image: str) -> None:
    dockyard.ok("create", "--name", "taken", "--network", "none", "busybox", "true")
    before = _state(dockyard)
    r = dockyard("create", "--name", "taken", "--network", "none", "-v", "/anon2",
                 volume_image, "true")
    assert r.code == 125 and 'The container name "/taken" is already in use' in r.err
    assert _state(dockyard) == before
