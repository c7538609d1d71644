""".dockerignore: reading the file and matching paths, with moby/patternmatcher's semantics.

Patterns are cleaned like Go's ``filepath.Clean``, ``!`` re-includes, the last matching
pattern wins, ``**`` spans directories, and a path is also matched when one of its
parent directories is. Each pattern is checked with Go's ``filepath.Match`` grammar,
then matched through the same regular expression patternmatcher builds (translated
from Go's regex dialect), so odd patterns behave as they do under ``docker build``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dockyard.errors import InvalidArgument

from ._goregex import translate

__all__ = [
    "MatchInfo",
    "Pattern",
    "PatternMatcher",
    "go_clean",
    "ignore_file_for",
    "included_paths",
    "read_ignore_file",
    "validate_glob",
]

_BOM = "\ufeff"
# Regex metacharacters that mean nothing to filepath.Match and so are escaped.
_ESCAPE = frozenset(".+()|{}$")


class BadPattern(InvalidArgument):
    """A .dockerignore pattern is malformed (Go's ``filepath.ErrBadPattern``)."""


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` on a slash-separated path."""
    if not path:
        return "."
    rooted = path.startswith("/")
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not rooted:
                out.append("..")
            continue
        out.append(part)
    cleaned = "/".join(out)
    if rooted:
        cleaned = "/" + cleaned
    return cleaned or "."


def _scan_chunk(pattern: str) -> tuple[str, str]:
    """Split off leading stars and the chunk up to the next star outside brackets."""
    pattern = pattern.lstrip("*")
    in_range = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return pattern[:i], pattern[i:]


def _class_char(chunk: str, pattern: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise BadPattern(f"syntax error in pattern: {pattern}")
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise BadPattern(f"syntax error in pattern: {pattern}")
    ch, rest = chunk[0], chunk[1:]
    if not rest or 0xD800 <= ord(ch) <= 0xDFFF:
        raise BadPattern(f"syntax error in pattern: {pattern}")
    return ch, rest


def validate_glob(pattern: str) -> None:
    """Raise :class:`BadPattern` where Go's ``filepath.Match`` reports ErrBadPattern."""
    rest = pattern
    while rest:
        chunk, rest = _scan_chunk(rest)
        while chunk:
            ch = chunk[0]
            if ch == "[":
                chunk = chunk[1:]
                if chunk.startswith("^"):
                    chunk = chunk[1:]
                ranges = 0
                while True:
                    if chunk.startswith("]") and ranges > 0:
                        chunk = chunk[1:]
                        break
                    _, chunk = _class_char(chunk, pattern)
                    if chunk[0] == "-":
                        _, chunk = _class_char(chunk[1:], pattern)
                    ranges += 1
            elif ch == "\\":
                if len(chunk) == 1:
                    raise BadPattern(f"syntax error in pattern: {pattern}")
                chunk = chunk[2:]
            else:
                chunk = chunk[1:]


@dataclass
class Pattern:
    """One cleaned pattern; ``exclusion`` for a ``!`` pattern."""

    cleaned: str
    exclusion: bool = False
    dirs: list[str] = field(default_factory=list)
    _kind: str = ""
    _regex: re.Pattern[str] | None = None

    def __str__(self) -> str:
        return self.cleaned

    def _compile(self) -> None:
        regex = "^"
        kind = "exact"
        text = self.cleaned
        i = 0
        first = True
        while i < len(text):
            ch = text[i]
            i += 1
            if ch == "*":
                if i < len(text) and text[i] == "*":
                    i += 1
                    if i < len(text) and text[i] == "/":
                        i += 1  # "**/" counts as "**"
                    if i >= len(text):
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            regex += ".*"
                            kind = "regexp"
                    else:
                        regex += "(.*/)?"
                        kind = "regexp"
                    if first:
                        kind = "suffix"
                else:
                    regex += "[^/]*"
                    kind = "regexp"
            elif ch == "?":
                regex += "[^/]"
                kind = "regexp"
            elif ch in _ESCAPE:
                regex += "\\" + ch
            elif ch == "\\":
                if i < len(text):
                    regex += "\\" + text[i]
                    i += 1
                    kind = "regexp"
                else:
                    regex += "\\"
            elif ch in "[]":
                regex += ch
                kind = "regexp"
            else:
                regex += ch
            first = False
        if kind == "regexp":
            self._regex = translate(regex + "$")
        self._kind = kind

    def match(self, path: str) -> bool:
        """Match one slash-separated path (its parents are the matcher's business)."""
        if not self._kind:
            self._compile()
        if self._kind == "exact":
            return path == self.cleaned
        if self._kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self._kind == "suffix":
            suffix = self.cleaned[2:]
            return path.endswith(suffix) or (suffix[:1] == "/" and path == suffix[1:])
        if self._regex is None:
            raise BadPattern(f"syntax error in pattern: {self.cleaned}")
        return self._regex.search(path) is not None


@dataclass
class MatchInfo:
    """Per-pattern results for a directory, handed down to its entries."""

    parent_matched: list[bool] = field(default_factory=list)


class PatternMatcher:
    """An ordered list of patterns; the last one matching a path decides."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[Pattern] = []
        self.exclusions = False
        for raw in patterns:
            text = raw.strip(" \t\n\v\f\r\x85\xa0")
            if not text:
                continue
            text = go_clean(text)
            exclusion = text.startswith("!")
            if exclusion:
                if len(text) == 1:
                    raise BadPattern('illegal exclusion pattern: "!"')
                text = text[1:]
                self.exclusions = True
            validate_glob(text)
            pattern = Pattern(text, exclusion, text.split("/"))
            try:
                pattern._compile()
            except InvalidArgument:
                raise BadPattern(f"syntax error in pattern: {text}") from None
            self.patterns.append(pattern)

    def matches(self, path: str) -> bool:
        """Whether ``path`` is excluded: it or one of its parents matches, last match wins.

        This is patternmatcher's ``MatchesOrParentMatches``; the context root itself
        (``.``) is never excluded.
        """
        path = go_clean(path)
        if path == ".":
            return False
        parent = _go_dir(path)
        parent_dirs = parent.split("/")
        matched = False
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit and parent != ".":
                for i in range(len(parent_dirs)):
                    if pattern.match("/".join(parent_dirs[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pattern.exclusion
        return matched

    def matches_using_parent_results(
        self, path: str, parent: MatchInfo | None = None
    ) -> tuple[bool, MatchInfo]:
        """Like :meth:`matches`, reusing the results of ``path``'s directory (for walks)."""
        parent_matched = parent.parent_matched if parent is not None else []
        if parent_matched and len(parent_matched) != len(self.patterns):
            raise InvalidArgument("wrong number of values in parentMatched")
        matched = False
        info = MatchInfo([False] * len(self.patterns))
        for i, pattern in enumerate(self.patterns):
            hit = parent_matched[i] if parent_matched else False
            if not hit:
                if pattern.exclusion != matched:
                    continue
                hit = pattern.match(path)
                if not hit and not parent_matched:
                    parent_path = _go_dir(path)
                    if parent_path != ".":
                        dirs = parent_path.split("/")
                        hit = any(pattern.match("/".join(dirs[: j + 1]))
                                  for j in range(len(dirs)))
            info.parent_matched[i] = hit
            if hit:
                matched = not pattern.exclusion
        return matched, info


def _go_dir(path: str) -> str:
    head, _, _ = path.rpartition("/")
    if "/" not in path:
        return "."
    return go_clean(head if head else "/")


def read_ignore_file(text: str | bytes) -> list[str]:
    """The patterns of a .dockerignore file (moby's ``ignorefile.ReadAll``)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    text = text.removeprefix(_BOM)
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip(" \t\n\v\f\r\x85\xa0")
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip(" \t\n\v\f\r\x85\xa0")
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


def ignore_file_for(context: Path, dockerfile: Path | None = None) -> Path | None:
    """The ignore file that applies: ``<Dockerfile>.dockerignore`` first, then
    ``<context>/.dockerignore``; None when neither exists."""
    if dockerfile is not None:
        specific = dockerfile.with_name(dockerfile.name + ".dockerignore")
        if specific.is_file():
            return specific
    general = context / ".dockerignore"
    return general if general.is_file() else None


def included_paths(root: Path, matcher: PatternMatcher, start: str = "") -> Iterator[str]:
    """Walk ``root`` (from its subdirectory ``start``) and yield the relative paths
    (``a/b``) the patterns keep, the way BuildKit's context transfer walks.

    An excluded directory is still entered when a ``!`` pattern could re-include
    something below it. Results of each directory feed its entries
    (patternmatcher's ``MatchesUsingParentResults``).
    """
    info: MatchInfo | None = None
    prefix = ""
    for part in [p for p in start.split("/") if p]:
        prefix = f"{prefix}/{part}" if prefix else part
        _, info = matcher.matches_using_parent_results(prefix, info)

    def walk(rel: str, info: MatchInfo | None) -> Iterator[str]:
        directory = root / rel if rel else root
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            child = f"{rel}/{entry.name}" if rel else entry.name
            excluded, child_info = matcher.matches_using_parent_results(child, info)
            is_dir = entry.is_dir(follow_symlinks=False)
            if not excluded:
                yield child
            if is_dir and (not excluded or matcher.exclusions):
                yield from walk(child, child_info)

    yield from walk(prefix, info)
