"""Entry names: what clean_name accepts is always a plain relative path inside the root."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import Forbidden
from dockyard.images.layers import clean_name


@pytest.mark.parametrize(("name", "want"), [
    ("etc/passwd", "etc/passwd"), ("./etc/passwd", "etc/passwd"), ("etc//x/", "etc/x"),
    ("./", ""), (".", ""), ("a/./b", "a/b"), ("...", "..."), ("a..b/..c", "a..b/..c"),
])
def test_accepted(name: str, want: str) -> None:
    assert clean_name(name) == want


@pytest.mark.parametrize("name", ["/etc/passwd", "/", "..", "../x", "a/../../x", "a/..",
                                  "./../x", "a/b/../c"])
def test_refused_naming_the_entry(name: str) -> None:
    with pytest.raises(Forbidden, match=f"layer entry {name}"):
        clean_name(name)


def test_link_targets_are_reported_under_their_entry() -> None:
    with pytest.raises(Forbidden, match=r"layer entry h: absolute path /etc/shadow"):
        clean_name("/etc/shadow", "h")


@given(st.lists(st.sampled_from(["a", ".", "..", "", "b c", ".wh.x", "é"]), max_size=6)
       .map("/".join), st.booleans())
def test_result_never_climbs_or_is_absolute(name: str, absolute: bool) -> None:
    name = ("/" if absolute else "") + name
    try:
        got = clean_name(name)
    except Forbidden:
        assert name.startswith("/") or ".." in name.split("/")
        return
    parts = got.split("/") if got else []
    assert not got.startswith("/") and ".." not in parts and "." not in parts
    assert "" not in parts
