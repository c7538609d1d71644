"""COPY --parents paths and --exclude of wildcard matches."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.build import PatternMatcher
from dockyard.build.copyplan import has_glob, kept_path, pivot, top_excluded


@pytest.mark.parametrize("source, base", [
    ("a/b.txt", ""), ("a/./b/c.txt", "a"), ("./a/b", ""), ("x/y/./z/./w", "x/y"),
    ("/abs/./f", "abs"), ("a/../b/./c", "b"),
])
def test_pivot(source: str, base: str) -> None:
    assert pivot(source) == base


@pytest.mark.parametrize("hit, source, kept", [
    ("x/a.txt", "x/a.txt", "x/a.txt"), ("y/1.txt", "y/*.txt", "y/1.txt"),
    ("base/sub/deep.txt", "base/./sub/deep.txt", "sub/deep.txt"),
    ("base/sub", "base/./sub", "sub"), ("base", "base/./", "."), ("tree", "./tree", "tree"),
])
def test_kept_path(hit: str, source: str, kept: str) -> None:
    assert kept_path(hit, source) == kept


@pytest.mark.parametrize("hit, source, patterns, dropped", [
    ("home.txt", "hom*", ["*.txt"], True), ("homer.sh", "hom*", ["*.txt"], False),
    ("d/home.txt", "d/hom*", ["*.txt"], True), ("d/home.txt", "d/hom*", ["d/*.txt"], False),
    ("home.txt", "home.txt", ["*.txt"], False),  # not a wildcard: the dir rule applies
    ("a/x.md", "*/x.md", ["a"], True), ("a/x.md", "*/x.md", ["a", "!a/x.md"], False),
])
def test_top_excluded(hit: str, source: str, patterns: list[str], dropped: bool) -> None:
    assert top_excluded(hit, source, PatternMatcher(patterns)) is dropped


_part = st.text("abc.", min_size=1, max_size=3).filter(lambda p: p not in (".", ".."))


@given(st.lists(_part, min_size=1, max_size=4), st.lists(_part, min_size=1, max_size=3))
def test_the_pivot_cuts_exactly_its_prefix(prefix: list[str], rest: list[str]) -> None:
    source = "/".join(prefix) + "/./" + "/".join(rest)
    hit = "/".join(prefix + rest)
    assert kept_path(hit, source) == "/".join(rest)
    assert not has_glob(source)
