""".dockerignore: patternmatcher's own cases, file reading, and walking a context."""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.build.dockerignore import (
    PatternMatcher,
    go_clean,
    ignore_file_for,
    included_paths,
    read_ignore_file,
    validate_glob,
)
from dockyard.errors import InvalidArgument

from .conftest import conformance_path


def _cases() -> list[dict[str, object]]:
    path = conformance_path("dockerignore", "patternmatcher-cases.json")
    cases: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return cases


def test_all_patternmatcher_cases() -> None:
    cases = _cases()
    assert len(cases) == 126
    failures = []
    for case in cases:
        patterns = case["patterns"]
        path = case["path"]
        assert isinstance(patterns, list) and isinstance(path, str)
        try:
            got, error = PatternMatcher(patterns).matches(path), False
        except InvalidArgument:
            got, error = False, True
        if got != case["match"] or error != case.get("error", False):
            failures.append(f"line {case['line']}: {patterns} {path!r}: got {got}, {error}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(("path", "want"), [
    ("", "."), (".", "."), ("/", "/"), ("//a//b/", "/a/b"), ("a/./b", "a/b"),
    ("a/../b", "b"), ("../a", "../a"), ("/../a", "/a"), ("a/b/../../..", ".."),
    ("./", "."), ("a/..", "."), ("//", "/"),
])
def test_go_clean(path: str, want: str) -> None:
    assert go_clean(path) == want


@given(st.text(alphabet="ab./", max_size=12))
def test_go_clean_agrees_with_normpath_except_double_slash_root(path: str) -> None:
    want = posixpath.normpath(path) if path else "."
    if want.startswith("//"):
        want = want[1:]  # POSIX keeps a leading "//", Go does not
    assert go_clean(path) == want


@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    (["*.log"], "a.log", True),
    (["*.log"], "dir/a.log", False),          # "*" does not cross "/"
    (["**/*.log"], "dir/sub/a.log", True),
    (["dir"], "dir/sub/file", True),          # a parent match excludes the child
    (["dir", "!dir/keep"], "dir/keep", False),
    (["dir", "!dir/keep"], "dir/keep/inner", False),
    (["dir", "!dir/keep"], "dir/other", True),
    (["!dir/keep", "dir"], "dir/keep", True),  # last match wins
    (["a/../b"], "b", True),
    (["  spaced  "], "spaced", True),
    (["*"], ".", False),                      # the context root is never excluded
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["[!a]x"], "!x", True),                  # "!" is not negation inside brackets
    (["[[:digit:]]x"], "7x", True),            # Go regexp's POSIX class
    (["\\dx"], "5x", True),                    # "\d" reaches Go's regexp as a digit class
    (["a$b"], "a$b", True),
    (["a\nb"], "a\nb", True),
    (["ab"], "ab\n", False),                  # "$" is the very end
])
def test_matching(patterns: list[str], path: str, excluded: bool) -> None:
    assert PatternMatcher(patterns).matches(path) is excluded


@pytest.mark.parametrize("pattern", ["[", "a[", "[^", "[]a]", "[-]", "[x-]", "\\", "[a-b-c]", "!"])
def test_bad_patterns_are_rejected_with_the_pattern_named(pattern: str) -> None:
    with pytest.raises(InvalidArgument, match="pattern"):
        PatternMatcher([pattern])


def test_validate_glob_accepts_good_patterns() -> None:
    for pattern in ["a*b", "[\\]a]", "[x\\-]", "**/x", "a\\*"]:
        validate_glob(pattern)


def test_read_ignore_file() -> None:
    text = ("\ufefftest1\n/test2\n/a/file/here\n\nlastfile\n# comment\n"
            " ! /inverted/abs/path\n!\n! \n")
    assert read_ignore_file(text.encode()) == [
        "test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]


def test_leading_slash_is_dropped_by_the_file_reader() -> None:
    matcher = PatternMatcher(read_ignore_file("/abs/path\n"))
    assert matcher.matches("abs/path")
    assert matcher.matches("abs/path/below")
    assert not matcher.matches("abs")


def test_read_ignore_file_keeps_hash_after_space_and_cleans() -> None:
    assert read_ignore_file(" #x\r\nfoo/./bar/\n") == ["#x", "foo/bar"]


def test_ignore_file_for_prefers_dockerfile_specific(tmp_path: Path) -> None:
    dockerfile = tmp_path / "sub" / "app.Dockerfile"
    dockerfile.parent.mkdir()
    dockerfile.write_text("FROM scratch\n")
    assert ignore_file_for(tmp_path, dockerfile) is None
    (tmp_path / ".dockerignore").write_text("x\n")
    assert ignore_file_for(tmp_path, dockerfile) == tmp_path / ".dockerignore"
    specific = tmp_path / "sub" / "app.Dockerfile.dockerignore"
    specific.write_text("y\n")
    assert ignore_file_for(tmp_path, dockerfile) == specific


def test_included_paths_reenters_excluded_dirs_for_exceptions(tmp_path: Path) -> None:
    for rel in ["a.txt", "logs/1.log", "logs/keep/k.log", "src/main.py", "src/x.log"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    matcher = PatternMatcher(read_ignore_file("logs\n**/*.log\n!logs/keep\n"))
    got = list(included_paths(tmp_path, matcher))
    assert got == ["a.txt", "logs/keep", "logs/keep/k.log", "src", "src/main.py"]
    for path in got:
        assert not matcher.matches(path)


def test_included_paths_without_exceptions_skips_excluded_dirs(tmp_path: Path) -> None:
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "f").write_text("")
    (tmp_path / "f").write_text("")
    assert list(included_paths(tmp_path, PatternMatcher(["node_modules"]))) == ["f"]


@given(st.lists(st.sampled_from(["a", "b", "*", "**", "!a", "a/b", "!**/b", "?"]), max_size=4),
       st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4))
def test_parent_results_agree_with_full_matching(patterns: list[str], parts: list[str]) -> None:
    matcher = PatternMatcher(patterns)
    info = None
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        excluded, info = matcher.matches_using_parent_results(path, info)
        if depth == 1:  # without parent results both read the path the same way
            assert excluded == matcher.matches(path), path


def test_parent_results_keep_patternmatchers_divergence() -> None:
    # patternmatcher records "no match" for a pattern it skipped on the parent, so the
    # walk (BuildKit's context transfer) keeps a/b where MatchesOrParentMatches drops it.
    matcher = PatternMatcher(["a", "!**/b", "a"])
    _, info = matcher.matches_using_parent_results("a")
    assert info.parent_matched == [True, False, False]
    assert matcher.matches_using_parent_results("a/b", info)[0] is False
    assert matcher.matches("a/b") is True
