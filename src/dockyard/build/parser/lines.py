"""Per-instruction argument parsers: how each instruction's text becomes argument nodes.

Ports of BuildKit's ``line_parsers.go`` and ``split_command.go``. Two of them (flags
and HEALTHCHECK's type word) look at the line byte by byte the way BuildKit does, so a
non-ASCII flag value comes out as BuildKit prints it (each UTF-8 byte read as Latin-1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from .._text import GO_SPACE_CHARS, go_isspace, go_quote
from .node import Node

__all__ = ["DISPATCH", "LineError", "parse_words", "split_command"]

# BuildKit's reWhitespace: note it has no "\n".
WHITESPACE = re.compile(r"[\t\v\f\r ]+")


class LineError(Exception):
    """An instruction's arguments are malformed; the parser adds the location."""


_NOT_STRING_ARRAY = "when using JSON array syntax, arrays must be comprised of strings only"


def go_trim_space(text: str) -> str:
    """``strings.TrimSpace``."""
    return text.strip(GO_SPACE_CHARS)


def _latin1(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _from_latin1(text: str) -> str:
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


def split_command(line: str, escape: str) -> tuple[str, list[str], str]:
    """Split an instruction line into its command, its ``--flags`` and the rest."""
    parts = WHITESPACE.split(go_trim_space(line), maxsplit=1)
    args = ""
    flags: list[str] = []
    if len(parts) == 2:
        args, flags = extract_flags(parts[1], escape)
    return parts[0], flags, go_trim_space(args)


def extract_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """Take the leading ``--name[=value]`` words off ``line``; ``--`` ends them."""
    raw = _latin1(line)  # BuildKit walks bytes here, not runes
    words: list[str] = []
    word: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    quote = ""
    blank_ok = False
    pos = 0
    n = len(raw)
    while pos <= n:
        ch = raw[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if go_isspace(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or raw[pos + 1] != "-":
                return _from_latin1(raw[pos:]), words
            phase = in_word
        if pos == n:
            text = "".join(word)
            if text != "--" and (blank_ok or text):
                words.append(text)
            break
        if phase == in_word:
            if go_isspace(ch):
                text = "".join(word)
                phase = in_spaces
                if text == "--":
                    return _from_latin1(raw[pos:]), words
                if blank_ok or text:
                    words.append(text)
                word.clear()
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = raw[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
            pos += 1
            continue
        if ch == escape:
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            ch = raw[pos]
        word.append(ch)
        pos += 1
    return "", words


def parse_words(rest: str, escape: str) -> list[str]:
    """Split on white space outside quotes, keeping quotes and escapes in the words."""
    words: list[str] = []
    word: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    quote = ""
    blank_ok = False
    pos = 0
    n = len(rest)
    while pos <= n:
        ch = rest[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if go_isspace(ch):
                pos += 1
                continue
            phase = in_word
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == in_word:
            if go_isspace(ch):
                phase = in_spaces
                if blank_ok or word:
                    words.append("".join(word))
                word.clear()
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue  # an escape at the very end is dropped
                word.append(ch)
                pos += 1
                ch = rest[pos]
            word.append(ch)
            pos += 1
            continue
        # in_quote
        if ch == quote:
            phase = in_word
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            pos += 1
            word.append(ch)
            ch = rest[pos]
        word.append(ch)
        pos += 1
    return words


def _chain(values: list[str]) -> Node | None:
    head: Node | None = None
    for value in reversed(values):
        head = Node(value=value, next=head)
    return head


def _key_value(key: str, value: str, sep: str) -> Node:
    return Node(value=key, next=Node(value=value, next=Node(value=sep)))


def _name_val(rest: str, key: str, escape: str) -> Node | None:
    words = parse_words(rest, escape)
    if not words:
        return None
    if "=" not in words[0]:
        # The old form: KEY name value...
        parts = WHITESPACE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise LineError(f"{key} must have two arguments")
        return _key_value(parts[0], parts[1], "")
    values: list[str] = []
    for word in words:
        if "=" not in word:
            raise LineError(f"syntax error - can't find = in {go_quote(word)}. "
                            "Must be of the form: name=value")
        k, _, v = word.partition("=")
        values += [k, v, "="]
    return _chain(values)


Parsed = tuple[Node | None, dict[str, bool]]
LineParser = Callable[[str, str], Parsed]


def parse_env(rest: str, escape: str) -> Parsed:
    """ENV: ``k=v ...`` pairs or the old ``k value`` form, as key/value/sep triples."""
    return _name_val(rest, "ENV", escape), {}


def parse_label(rest: str, escape: str) -> Parsed:
    """LABEL: like ENV."""
    return _name_val(rest, "LABEL", escape), {}


def parse_name_or_name_val(rest: str, escape: str) -> Parsed:
    """ARG: one node per word, ``name`` or ``name=value`` (split later)."""
    return _chain(parse_words(rest, escape)), {}


def parse_strings_whitespace_delimited(rest: str, escape: str) -> Parsed:
    """FROM, EXPOSE and list fallbacks: split on blanks, quotes not honoured."""
    if not rest:
        return None, {}
    return _chain(WHITESPACE.split(rest)), {}


def parse_string(rest: str, escape: str) -> Parsed:
    """USER, WORKDIR, MAINTAINER, STOPSIGNAL: the rest of the line as one node."""
    if not rest:
        return None, {}
    return Node(value=rest), {}


def parse_ignore(rest: str, escape: str) -> Parsed:
    """Unknown instructions: one empty argument (refused later, with its name)."""
    return Node(), {}


class _NotJSON(Exception):
    pass


def _reject_constant(name: str) -> object:
    raise _NotJSON(name)  # Go's encoding/json has no NaN or Infinity


def _go_number(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotJSON(f"number {text} overflows")  # Go cannot hold it in a float64
    return value


def parse_json(rest: str) -> Parsed:
    """Parse an exec-form array; :class:`_NotJSON` when it is not valid JSON."""
    rest = rest.lstrip(GO_SPACE_CHARS)
    if not rest.startswith("["):
        raise _NotJSON("not a JSON array")
    try:
        doc = json.loads(rest, parse_constant=_reject_constant,
                         parse_float=_go_number, parse_int=_go_number)
    except (ValueError, RecursionError) as err:
        raise _NotJSON(str(err)) from None
    if not isinstance(doc, list):
        raise _NotJSON("not a JSON array")
    if not all(isinstance(item, str) for item in doc):
        raise LineError(_NOT_STRING_ARRAY)
    # Go decodes invalid UTF-8 and lone surrogate escapes to U+FFFD.
    items = [re.sub("[\ud800-\udfff]", "\ufffd", item) for item in doc]
    return _chain(items), {"json": True}


def parse_maybe_json(rest: str, escape: str) -> Parsed:
    """RUN, CMD, ENTRYPOINT, SHELL: exec form if valid JSON, else one shell string."""
    if not rest:
        return None, {}
    try:
        return parse_json(rest)
    except _NotJSON:
        return Node(value=rest), {}


def parse_maybe_json_to_list(rest: str, escape: str) -> Parsed:
    """COPY, ADD, VOLUME: exec form if valid JSON, else blank-separated words."""
    try:
        return parse_json(rest)
    except _NotJSON:
        return parse_strings_whitespace_delimited(rest, escape)


def parse_health_config(rest: str, escape: str) -> Parsed:
    """HEALTHCHECK: the type word, then the command like CMD."""
    raw = _latin1(rest)  # BuildKit walks bytes here
    sep = 0
    while sep < len(raw) and not go_isspace(raw[sep]):
        sep += 1
    nxt = sep
    while nxt < len(raw) and go_isspace(raw[nxt]):
        nxt += 1
    if sep == 0:
        return None, {}
    cmd, attrs = parse_maybe_json(_from_latin1(raw[nxt:]), escape)
    return Node(value=_from_latin1(raw[:sep]), next=cmd), attrs


def parse_sub_command(rest: str, escape: str) -> Parsed:
    """ONBUILD: the trigger parsed as an instruction of its own, as a child."""
    if not rest:
        return None, {}
    from .parser import node_from_line  # ONBUILD nests a whole instruction

    return Node(children=[node_from_line(rest, escape, [])]), {}


DISPATCH: dict[str, LineParser] = {
    "add": parse_maybe_json_to_list,
    "arg": parse_name_or_name_val,
    "cmd": parse_maybe_json,
    "copy": parse_maybe_json_to_list,
    "entrypoint": parse_maybe_json,
    "env": parse_env,
    "expose": parse_strings_whitespace_delimited,
    "from": parse_strings_whitespace_delimited,
    "healthcheck": parse_health_config,
    "label": parse_label,
    "maintainer": parse_string,
    "onbuild": parse_sub_command,
    "run": parse_maybe_json,
    "shell": parse_maybe_json,
    "stopsignal": parse_string,
    "user": parse_string,
    "volume": parse_maybe_json_to_list,
    "workdir": parse_string,
}
