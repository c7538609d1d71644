"""Parser directives (``# syntax=``, ``# escape=``, ``# check=``) at the top of a Dockerfile."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .._text import go_isspace
from .node import DockerfileSyntaxError

__all__ = ["Directive", "DirectiveParser", "detect_syntax", "parse_directive"]

KNOWN = frozenset({"syntax", "escape", "check"})
# Go's \s is [\t\n\f\r ]; "$" there is the end of the text.
_DIRECTIVE = re.compile(r"([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_BOM = "\ufeff"


@dataclass(frozen=True)
class Directive:
    """One directive: lower-case name, value, 1-based line."""

    name: str
    value: str
    line: int


class DirectiveParser:
    """Reads directives line by line until the first line that is not one.

    Directives must come before any instruction, blank line or other comment; each
    may appear once.
    """

    def __init__(self, comment: str = "#", line: int = 0) -> None:
        self.comment = comment
        self.line = line
        self.seen: set[str] = set()
        self.done = False

    def parse_line(self, line: str) -> Directive | None:
        """Return the directive on ``line``, or None once directives are over."""
        self.line += 1
        if self.done:
            return None
        if not line.startswith(self.comment):
            self.done = True
            return None
        body = _lstrip_space(line[len(self.comment):])
        m = _DIRECTIVE.match(body)
        if m is None or m.group(1).lower() not in KNOWN:
            self.done = True
            return None
        name = m.group(1).lower()
        if name in self.seen:
            raise DockerfileSyntaxError(f"only one {name} parser directive can be used",
                                        self.line)
        self.seen.add(name)
        return Directive(name, m.group(2), self.line)

    def parse_all(self, text: str, *, partial: bool = False) -> list[Directive]:
        """All directives at the top of ``text`` (with ``partial``, those before an error)."""
        found: list[Directive] = []
        for line in text.split("\n"):
            if self.done:
                break
            try:
                d = self.parse_line(line.removesuffix("\r"))
            except DockerfileSyntaxError:
                if partial:
                    return found
                raise
            if d is not None:
                found.append(d)
        return found


def _lstrip_space(text: str) -> str:
    i = 0
    while i < len(text) and go_isspace(text[i]):
        i += 1
    return text[i:]


def parse_directive(key: str, text: str) -> Directive | None:
    """Find directive ``key`` at the top of a Dockerfile (``#`` comments only)."""
    return _find(key, text, any_format=False)


def detect_syntax(text: str) -> Directive | None:
    """Find the ``syntax`` directive the way BuildKit picks a frontend.

    Besides ``# syntax=``, ``// syntax=`` and a JSON document ``{"syntax": ...}`` count,
    and a ``#!`` first line is skipped. The value's first word names the frontend.
    """
    return _find("syntax", text, any_format=True)


def _find(key: str, text: str, *, any_format: bool) -> Directive | None:
    text = text.removeprefix(_BOM)
    line = 0
    first, _, rest = text.partition("\n")
    if first.startswith("#!"):
        text, line = rest, 1
    prefixes = ["#", "//"] if any_format else ["#"]
    for prefix in prefixes:
        for d in DirectiveParser(prefix, line).parse_all(text, partial=True):
            if d.name == key:
                return d
    if any_format:
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        if isinstance(doc, dict) and isinstance(doc.get(key), str):
            return Directive(key, doc[key], line)
    return None
