"""Reference parsing follows Docker's normalisation and names bad references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument
from dockyard.oci import parse_reference

HEX = "a" * 64


@pytest.mark.parametrize(("text", "full", "familiar"), [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("me/app:v1", "docker.io/me/app:v1", "me/app:v1"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    ("localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t"),
    ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"),
    (f"busybox@sha256:{HEX}", f"docker.io/library/busybox@sha256:{HEX}",
     f"busybox@sha256:{HEX}"),
    (f"h.io/a:t@sha256:{HEX}", f"h.io/a:t@sha256:{HEX}", f"h.io/a:t@sha256:{HEX}"),
    ("a__b-c---e/f_g.h", "docker.io/a__b-c---e/f_g.h:latest", "a__b-c---e/f_g.h:latest"),
])
def test_normalises_like_docker(text: str, full: str, familiar: str) -> None:
    ref = parse_reference(text)
    assert str(ref) == full
    assert ref.familiar() == familiar


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"), ("Busybox", "lowercase"), ("busybox:", "tag"), ("a:b:c", "'a:b:c'"),
    ("busybox@sha256:abc", "digest"), ("busybox@md5:" + "a" * 32, "algorithm"),
    ("-x", "'-x'"), ("a//b", "'a//b'"), ("a/", "'a/'"), ("x:" + "t" * 129, "tag"),
    (HEX, "hexadecimal"), ("a" * 300, "255"), ("bad_host.com/x", "registry"),
    ("ex.com/UP", "lowercase"), ("a_-b", "'a_-b'"),
])
def test_bad_references_name_the_input(text: str, why: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_reference(text)
    msg = str(info.value)
    assert msg.startswith("invalid reference format")
    assert why in msg
    assert "\n" not in msg


def test_digest_only_gets_no_default_tag() -> None:
    assert parse_reference(f"busybox@sha256:{HEX}").tag == ""
    assert parse_reference("busybox", default_tag="").tag == ""


@given(st.from_regex(r"n/[a-z0-9]{1,8}((\.|_|__|-+)[a-z0-9]{1,5}){0,2}(/[a-z0-9]{1,6}){0,2}"
                     r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,10})?", fullmatch=True))
def test_valid_names_round_trip(text: str) -> None:
    ref = parse_reference(text)
    assert parse_reference(str(ref)) == ref
    assert parse_reference(ref.familiar()) == ref


@given(st.text(max_size=80))
def test_any_text_parses_or_fails_with_one_line(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidArgument as err:
        assert str(err).startswith("invalid reference format") and "\n" not in str(err)
    else:
        assert parse_reference(str(ref)) == ref
