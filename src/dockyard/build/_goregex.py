"""Translate the Go (RE2) regular expressions patternmatcher builds into Python ones.

patternmatcher hands pieces of the user's pattern (bracket expressions, ``\\x``
escapes) straight to Go's regexp, so the two dialects must agree on them: character
classes (with POSIX ``[:alpha:]`` names and ``\\d``-style escapes inside), escapes,
and ``$`` meaning the very end of the text. Everything else the builder emits reads
the same in both.
"""

from __future__ import annotations

import re

from dockyard.errors import InvalidArgument

__all__ = ["translate"]

_PERL = {
    "d": "0-9", "s": "\\t\\n\\f\\r ", "w": "0-9A-Za-z_",
}
_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_SIMPLE = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _class_literal(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[&~|" else ch


def _escape(text: str, i: int) -> tuple[str, int]:
    """Read the escape at ``text[i] == '\\'``; return the literal char and next index."""
    if i + 1 >= len(text):
        raise InvalidArgument("trailing backslash at end of expression")
    c = text[i + 1]
    i += 2
    if c < "\x80" and not c.isalnum():
        return c, i
    if c in _SIMPLE:
        return _SIMPLE[c], i
    if c in "01234567":
        digits = c
        if c != "0" and (i >= len(text) or text[i] not in "01234567"):
            raise InvalidArgument(f"invalid escape sequence: \\{c}")
        while len(digits) < 3 and i < len(text) and text[i] in "01234567":
            digits += text[i]
            i += 1
        return chr(int(digits, 8)), i
    if c == "x":
        if i < len(text) and text[i] == "{":
            end = text.find("}", i)
            if end < 0:
                raise InvalidArgument("invalid escape sequence: \\x{")
            digits, i = text[i + 1:end], end + 1
        else:
            digits, i = text[i:i + 2], i + 2
        try:
            return chr(int(digits, 16)), i
        except ValueError:
            raise InvalidArgument(f"invalid escape sequence: \\x{digits}") from None
    raise InvalidArgument(f"invalid escape sequence: \\{c}")


def _parse_class(text: str, i: int) -> tuple[str, int]:
    """Translate the class starting at ``text[i] == '['``."""
    i += 1
    negated = text.startswith("^", i)
    if negated:
        i += 1
    items: list[str] = []
    first = True
    while first or (i < len(text) and text[i] != "]"):
        if i >= len(text):
            raise InvalidArgument("missing closing ]")
        first = False
        if text.startswith("[:", i):
            end = text.find(":]", i + 2)
            name = text[i + 2:end] if end >= 0 else ""
            if name in _POSIX:
                items.append(_POSIX[name])
                i = end + 2
                continue
            if name.startswith("^") and name[1:] in _POSIX:
                raise InvalidArgument(f"unsupported negated class [:{name}:]")
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "dswDSW":
            if text[i + 1].isupper():
                raise InvalidArgument(f"unsupported class escape \\{text[i + 1]} in brackets")
            items.append(_PERL[text[i + 1]])
            i += 2
            continue
        lo, i = _class_char(text, i)
        hi = lo
        if i + 1 < len(text) and text[i] == "-" and text[i + 1] != "]":
            hi, i = _class_char(text, i + 1)
            if hi < lo:
                raise InvalidArgument(f"invalid character class range: {lo}-{hi}")
        items.append(_class_literal(lo) + ("-" + _class_literal(hi) if hi != lo else ""))
    return "[" + ("^" if negated else "") + "".join(items) + "]", i + 1


def _class_char(text: str, i: int) -> tuple[str, int]:
    if i >= len(text):
        raise InvalidArgument("missing closing ]")
    if text[i] == "\\":
        return _escape(text, i)
    return text[i], i + 1


def translate(go_regex: str) -> re.Pattern[str]:
    """Compile a Go regular expression of the subset patternmatcher produces."""
    out: list[str] = []
    i = 0
    while i < len(go_regex):
        ch = go_regex[i]
        if ch == "[":
            piece, i = _parse_class(go_regex, i)
            out.append(piece)
        elif ch == "\\":
            nxt = go_regex[i + 1] if i + 1 < len(go_regex) else ""
            if nxt in ("d", "D", "s", "S", "w", "W"):
                body = _PERL[nxt.lower()]
                out.append(("[^" if nxt.isupper() else "[") + body + "]")
                i += 2
            elif nxt in ("b", "B", "A"):
                out.append("\\" + nxt)
                i += 2
            elif nxt == "z":
                out.append("\\Z")
                i += 2
            else:
                lit, i = _escape(go_regex, i)
                out.append(re.escape(lit))
        elif ch == "$":
            out.append("\\Z")
            i += 1
        else:
            out.append(ch)
            i += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as err:
        raise InvalidArgument(f"bad pattern regex {go_regex!r}: {err}") from None
