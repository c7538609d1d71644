"""The warm engine's request encoding and the client's reading of argv."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.cli.warm import wire
from dockyard.cli.warm.client import _cold_verb

_text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]))


@given(argv=st.lists(_text), env=st.dictionaries(_text.filter(lambda k: "=" not in k and k),
                                                 _text),
       umask=st.integers(0, 0o777), argv0=_text)
def test_request_round_trip(argv: list[str], env: dict[str, str], umask: int,
                            argv0: str) -> None:
    raw_env = {k.encode("utf-8", "surrogateescape"): v.encode("utf-8", "surrogateescape")
               for k, v in env.items()}
    data = wire.encode_request("/py:/pkg", argv0, argv, raw_env, umask)
    assert int.from_bytes(data[:4], "little") == len(data) - 4
    back = wire.decode_request(data[4:])
    assert (back.code, back.argv0, back.argv, back.env, back.umask) == \
        ("/py:/pkg", argv0, argv, env, umask)


@pytest.mark.parametrize("body", [b"", b"other\0x", b"dockyard-warm-1\0c\0" + b"22\0a\0" + b"9",
                                  b"dockyard-warm-1\0c\x0022\0a\0-1",
                                  b"dockyard-warm-1\0c\x0022\0a\0" + b"0\0NOEQUALS",
                                  b"dockyard-warm-1\0c\x0089\0a\0" + b"0"])
def test_malformed_requests_are_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        wire.decode_request(body)


@pytest.mark.parametrize(("argv", "env", "want"), [
    ([], {}, "/run/dockyard"),
    (["ps"], {"DOCKYARD_RUN_ROOT": "/e"}, "/e"),
    (["--run-root", "/a", "ps"], {"DOCKYARD_RUN_ROOT": "/e"}, "/a"),
    (["--run-root=/b", "ps"], {}, "/b"),
    (["--root", "/r", "--run-root", "/a", "ps"], {}, "/a"),
    (["--root", "--run-root", "ps"], {}, "/run/dockyard"),  # --run-root is --root's value
    (["ps", "--run-root", "/late"], {}, "/run/dockyard"),  # after the verb: not global
    (["-D", "--run-root", "/a", "run"], {}, "/a"),
])
def test_run_root_of(argv: list[str], env: dict[str, str], want: str,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_RUN_ROOT", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert wire.run_root_of(argv) == want


@pytest.mark.parametrize(("run_root", "want"), [("/run/dockyard", "/run/dockyard/warm"),
                                                ("/tmp/x/", "/tmp/x/warm"), ("/", "/warm")])
def test_warm_dir(run_root: str, want: str) -> None:
    assert wire.warm_dir(run_root) == want


@pytest.mark.parametrize(("argv", "cold"), [
    (["serve"], True), (["--root", "/r", "--run-root", "/x", "serve", "-H", "u"], True),
    (["registry", "serve"], True), (["run", "busybox", "serve"], False), (["ps"], False),
    (["--root", "serve", "ps"], False), ([], False),
])
def test_servers_run_cold(argv: list[str], cold: bool) -> None:
    assert _cold_verb(argv) is cold
