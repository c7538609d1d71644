"""The Dockerfile shell lexer: quotes, escapes and ``$VAR`` expansion, as BuildKit does it.

This is not a shell: there is no command substitution, no globbing, no field
splitting except :meth:`Lex.process_words`. It follows BuildKit's
``frontend/dockerfile/shell`` rule for rule, quirks included, because a Dockerfile
must mean the same thing here as under ``docker build``:

- ``$1``…, ``$@``, ``$*``, ``$#``, ``$?``, ``$-``, ``$$``, ``$!``, ``$0`` are never set;
- ``${VAR:=x}`` and ``${VAR:#x}`` are errors; ``${VAR#p}``/``${VAR%p}``/``${VAR/p/r}``
  take ``*`` and ``?`` wildcards but no bracket expressions;
- ``${VAR//p/r}`` expands ``$0``/``${0}`` in ``r`` to the match (Go's ``Expand``),
  ``${VAR/p/r}`` inserts ``r`` literally;
- in :meth:`Lex.process_words`, an expansion with a modifier (``${A:-b}``) drops what the
  same word held before it (BuildKit shares one word buffer between nesting levels).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dockyard.errors import InvalidArgument

from ._text import go_isspace, go_quote

__all__ = ["ExpansionError", "Lex", "WordResult"]

_EOF = ""
_SPECIAL_PARAMS = frozenset("@*#?-$!0")


class ExpansionError(InvalidArgument):
    """A word could not be expanded (bad substitution, unset required variable...)."""


@dataclass
class WordResult:
    """The expansion of one word and the variables it looked up."""

    result: str
    words: list[str]
    matched: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


class _Scanner:
    """Go's text/scanner reduced to what the lexer uses: Peek and Next over runes."""

    def __init__(self, text: str) -> None:
        # text/scanner drops a byte-order mark at the very start.
        self.text = text[1:] if text.startswith("\ufeff") else text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        if self.pos < len(self.text):
            self.pos += 1
            return self.text[self.pos - 1]
        return _EOF


class _Words:
    """Word splitting over a buffer that may be shared with nested expansions."""

    def __init__(self, buf: list[str]) -> None:
        self.buf = buf
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if go_isspace(ch):
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf.clear()
                self.in_word = False
        else:
            self.add_raw(ch)

    def add_raw(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def finish(self) -> list[str]:
        if self.buf:
            self.words.append("".join(self.buf))
            self.buf.clear()
            self.in_word = False
        return self.words


class Lex:
    """Expands Dockerfile words against an environment.

    ``raw_quotes`` keeps quote characters, ``raw_escapes`` keeps escape characters,
    ``skip_process_quotes`` treats quotes as ordinary characters and
    ``skip_unset_env`` leaves references to unset variables as written.
    """

    def __init__(
        self,
        escape_token: str = "\\",
        *,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_process_quotes: bool = False,
        skip_unset_env: bool = False,
    ) -> None:
        if escape_token not in ("\\", "`"):
            raise InvalidArgument(f"escape token: {escape_token!r} is not ` or \\")
        self.escape_token = escape_token
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_process_quotes = skip_process_quotes
        self.skip_unset_env = skip_unset_env

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        """Expand ``word`` into one string (spaces kept)."""
        return self.process(word, env).result

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """Expand ``word`` and split it on unquoted white space."""
        return self.process(word, env).words

    def process(self, word: str, env: Mapping[str, str]) -> WordResult:
        """Expand ``word``, returning the string, the words and the variables used."""
        state = _ShellWord(self, word, env)
        try:
            result, words = state.process_stop_on(_EOF, self.raw_escapes)
        except ExpansionError as err:
            raise ExpansionError(f"failed to process {go_quote(word)}: {err}") from None
        return WordResult(result, words, state.matched, state.unmatched)


class _ShellWord:
    def __init__(self, lex: Lex, word: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.env = env
        self.scanner = _Scanner(word)
        self.raw_escapes = lex.raw_escapes
        self.words_buffer: list[str] = []
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    def get_env(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    def process_stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        self.words_buffer.clear()
        words = _Words(self.words_buffer)
        handlers: dict[str, Callable[[], str]] = {
            "$": self.process_dollar,
            "<": self.process_possible_heredoc,
        }
        if not self.lex.skip_process_quotes:
            handlers["'"] = self.process_single_quote
            handlers['"'] = self.process_double_quote
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            sc = self.scanner
            esc = self.lex.escape_token
            while (ch := sc.peek()) != _EOF:
                if stop != _EOF and ch == stop:
                    sc.next()
                    return "".join(result), words.finish()
                handler = handlers.get(ch)
                if handler is not None:
                    text = handler()
                    result.append(text)
                    if ch == "$":
                        words.add_string(text)
                    else:
                        words.add_raw(text)
                    continue
                ch = sc.next()
                if ch == esc:
                    if self.raw_escapes:
                        words.add_raw(ch)
                        result.append(ch)
                    ch = sc.next()
                    if ch == _EOF:
                        break
                    words.add_raw(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
            if stop != _EOF:
                raise ExpansionError(
                    f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.finish()
        finally:
            self.raw_escapes = saved

    def process_single_quote(self) -> str:
        sc = self.scanner
        out: list[str] = []
        quote = sc.next()
        if self.lex.raw_quotes:
            out.append(quote)
        while True:
            ch = sc.next()
            if ch == _EOF:
                raise ExpansionError(
                    "unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def process_double_quote(self) -> str:
        sc = self.scanner
        esc = self.lex.escape_token
        out: list[str] = []
        quote = sc.next()
        if self.lex.raw_quotes:
            out.append(quote)
        while True:
            peek = sc.peek()
            if peek == _EOF:
                raise ExpansionError(
                    "unexpected end of statement while looking for matching double-quote")
            if peek == '"':
                sc.next()
                if self.lex.raw_quotes:
                    out.append('"')
                return "".join(out)
            if peek == "$":
                out.append(self.process_dollar())
                continue
            ch = sc.next()
            if ch == esc:
                if self.raw_escapes:
                    out.append(ch)
                nxt = sc.peek()
                if nxt == _EOF:
                    continue  # a lone escape at the end is dropped
                if nxt in ('"', "$", esc):
                    ch = sc.next()
            out.append(ch)

    def process_name(self) -> str:
        sc = self.scanner
        name: list[str] = []
        while (ch := sc.peek()) != _EOF:
            if not name and ch.isdecimal():
                while sc.peek() != _EOF and sc.peek().isdecimal():
                    name.append(sc.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return sc.next()
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            name.append(sc.next())
        return "".join(name)

    def process_dollar(self) -> str:
        sc = self.scanner
        sc.next()
        if sc.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value
        sc.next()
        peek = sc.peek()
        if peek == _EOF:
            raise ExpansionError("syntax error: missing '}'")
        if peek in "{}:":
            raise ExpansionError("syntax error: bad substitution")
        name = self.process_name()
        ch = sc.next()
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == "/":
            return self._substitute(name)
        # Go prints the EOF rune as U+FFFD in these messages.
        chs = ch or "\ufffd"
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = sc.next()
            chs += ch or "\ufffd"
        elif ch not in ("+", "-", "?", "#", "%"):
            raise ExpansionError(f"unsupported modifier ({chs}) in substitution")
        raw = ch in ("#", "%")
        if null_is_unset and raw:
            raise ExpansionError(f"unsupported modifier ({chs}) in substitution")
        try:
            word, _ = self.process_stop_on("}", raw)
        except ExpansionError:
            if sc.peek() == _EOF:
                raise ExpansionError("syntax error: missing '}'") from None
            raise
        value, found = self.get_env(name)
        if self.lex.skip_unset_env and not found:
            return "${" + name + chs + word + "}"
        empty = not found or (null_is_unset and value == "")
        if ch == "-":
            return word if empty else value
        if ch == "+":
            return "" if empty else word
        if ch == "?":
            if not found:
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ExpansionError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if ch in ("#", "%"):
            greedy = word.startswith(ch)
            if greedy:
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        raise ExpansionError(f"unsupported modifier ({chs}) in substitution")

    def _substitute(self, name: str) -> str:
        sc = self.scanner
        replace_all = sc.peek() == "/"
        if replace_all:
            sc.next()
        try:
            pattern, _ = self.process_stop_on("/", True)
        except ExpansionError:
            if sc.peek() == _EOF:
                raise ExpansionError("syntax error: missing '/' in ${}") from None
            raise
        try:
            replacement, _ = self.process_stop_on("}", True)
        except ExpansionError:
            if sc.peek() == _EOF:
                raise ExpansionError("syntax error: missing '}'") from None
            raise
        value, found = self.get_env(name)
        if self.lex.skip_unset_env and not found:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = _pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return _replace_all(regex, value, replacement)
        m = regex.search(value)
        if m is None:
            return value
        return value[: m.start()] + replacement + value[m.end():]

    def process_possible_heredoc(self) -> str:
        sc = self.scanner
        sc.next()
        if sc.peek() != "<":
            return "<"
        sc.next()
        space: list[str] = []
        while sc.peek() in ("\t", "\r", " ") and sc.peek() != _EOF:
            space.append(sc.next())
        return "<<" + "".join(space)


_REGEX_SPECIAL = frozenset("[]{}.+()|^$")


def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """Turn a ``${VAR#pattern}`` shell pattern (``*``, ``?``, ``\\`` escapes) into a regex."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            # "\}" and "\/" only protect the ${} syntax; they are not part of the pattern.
            if i < n and pattern[i] in "}/":
                continue
            nxt = pattern[i] if i < n else ""
            i += 1
            if nxt not in ("*", "?", "\\"):
                shown = nxt if nxt else "\\x00"
                raise ExpansionError(
                    f"invalid pattern ({pattern}) in substitution: invalid escape '\\{shown}'")
            out.append("\\" + nxt)
        elif ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end():] if m else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each ``\\x`` escape pair in order."""
    units: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i != len(pattern) - 1:
            units.append(pattern[i:i + 2])
            i += 2
        else:
            units.append(pattern[i])
            i += 1
    return "".join(reversed(units))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # Regexes find the leftmost match, so search the reversed value with the reversed
    # pattern to find the shortest (or longest) rightmost one.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


def _expand_template(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand`` for a regex without groups: ``$0``/``${0}`` is the match."""
    out: list[str] = []
    while True:
        before, sep, after = template.partition("$")
        out.append(before)
        if not sep:
            return "".join(out)
        template = after
        if template.startswith("$"):
            out.append("$")
            template = template[1:]
            continue
        name, rest = _template_name(template)
        if name is None:
            out.append("$")
            continue
        template = rest
        if name == "0":
            out.append(match.group(0))


def _template_name(text: str) -> tuple[str | None, str]:
    brace = text.startswith("{")
    body = text[1:] if brace else text
    i = 0
    while i < len(body) and (body[i].isalpha() or body[i].isdecimal() or body[i] == "_"):
        i += 1
    if i == 0:
        return None, text
    name = body[:i]
    if brace:
        if i >= len(body) or body[i] != "}":
            return None, text
        i += 1
    return name, body[i:]


def _replace_all(regex: re.Pattern[str], value: str, template: str) -> str:
    """Go's ``ReplaceAllString``: no empty match right after a previous match."""
    out: list[str] = []
    last_end = 0
    pos = 0
    while pos <= len(value):
        m = regex.search(value, pos)
        if m is None:
            break
        out.append(value[last_end:m.start()])
        if m.end() > last_end or m.start() == 0:
            out.append(_expand_template(template, m))
        last_end = m.end()
        pos = pos + 1 if pos + 1 > m.end() else m.end()
    out.append(value[last_end:])
    return "".join(out)
