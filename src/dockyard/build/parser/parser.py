"""Dockerfile text → syntax tree, line for line as BuildKit's parser reads it.

Handles the byte-order mark, parser directives, the escape character as line
continuation (comments and blank lines inside a continuation are skipped), heredocs
after RUN/COPY/ADD (also inside ONBUILD), and records each instruction's first and
last line. Errors carry BuildKit's line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .._text import GO_SPACE_CHARS as _GO_SPACE_CHARS
from ..shell import ExpansionError, Lex
from .directives import DirectiveParser
from .lines import DISPATCH, LineError, parse_ignore, split_command
from .node import DockerfileSyntaxError, Heredoc, Node, ParseResult, Warning, go_lower

__all__ = ["MAX_LINE_BYTES", "heredocs_from_line", "node_from_line", "parse", "parse_heredoc"]

MAX_LINE_BYTES = 64 * 1024  # bufio.Scanner's limit, which BuildKit keeps
_HEREDOC = re.compile(r"([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)\Z")
_HEREDOC_INSTRUCTIONS = frozenset({"add", "copy", "run"})


class _Escape:
    """The current escape character and its line-continuation pattern."""

    def __init__(self, token: str = "\\") -> None:
        self.set(token)

    def set(self, token: str) -> None:
        if token not in ("`", "\\"):
            raise ValueError(f"invalid escape token '{token}' does not match ` or \\")
        self.token = token
        t = re.escape(token)
        # The escape char as the last non-blank char continues the line, unless it is
        # itself escaped; a line holding only the escape char continues too.
        self.continuation = re.compile(rf"([^{t}]){t}[ \t]*\Z|^{t}[ \t]*\Z")


def _lines(text: str) -> Iterator[str]:
    """Lines with their endings kept, like BuildKit's scanner."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        line = text[start:end]
        if len(line.rstrip("\n").encode("utf-8", "surrogateescape")) >= MAX_LINE_BYTES:
            raise _TooLong()
        yield line
        start = end


class _TooLong(Exception):
    pass


def _is_comment(line: str) -> bool:
    return line.lstrip(_GO_SPACE_CHARS).startswith("#")


def _trim_newline(line: str) -> str:
    return line.rstrip("\r\n")


def _trim_continuation(line: str, esc: _Escape) -> tuple[str, bool]:
    if esc.continuation.search(line):
        return esc.continuation.sub(r"\1", line), False
    return line, True


def node_from_line(line: str, escape: str, comments: list[str]) -> Node:
    """Parse one logical instruction line (continuations already joined)."""
    cmd, flags, args = split_command(line, escape)
    fn = DISPATCH.get(go_lower(cmd), parse_ignore)
    try:
        nxt, attrs = fn(args, escape)
    except LineError as err:
        raise ValueError(str(err)) from None
    return Node(value=cmd, original=line, flags=flags, next=nxt, attributes=attrs,
                prev_comment=list(comments))


def _can_contain_heredoc(node: Node) -> bool:
    if go_lower(node.value) == "onbuild" and node.next is not None and node.next.children:
        node = node.next.children[0]
    return go_lower(node.value) in _HEREDOC_INSTRUCTIONS and not node.is_json


def parse_heredoc(word: str) -> Heredoc | None:
    """Read ``[n]<<[-]NAME`` (NAME possibly quoted); None if ``word`` is not one."""
    m = _HEREDOC.match(word)
    if m is None or not m.group(3):
        return None
    fd = int(m.group(1)) if m.group(1) else 0
    rest = m.group(3)
    words = Lex(skip_unset_env=True).process_words(rest, {})
    if len(words) != 1:
        return None
    raw = Lex(skip_unset_env=True, raw_quotes=True).process_words(rest, {})
    if len(raw) != len(words):
        raise ValueError(f"internal lexing of heredoc produced inconsistent results: {rest}")

    def quotes(w: str) -> int:
        return w.count("'") + w.count('"')

    # Any quoting of the name (removed by one lexer, kept by the other) turns off
    # expansion of the content.
    return Heredoc(name=words[0], file_descriptor=min(fd, 2**64 - 1),
                   expand=quotes(words[0]) == quotes(raw[0]), chomp=m.group(2) == "-")


def heredocs_from_line(line: str) -> list[Heredoc]:
    """Every heredoc a RUN/COPY/ADD line opens, in order."""
    lex = Lex(raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lex.process_words(line, {})
    except ExpansionError:
        words = []
    docs = []
    for word in words:
        doc = parse_heredoc(word)
        if doc is not None:
            docs.append(doc)
    return docs


def parse(text: str | bytes, filename: str = "Dockerfile") -> ParseResult:
    """Parse a whole Dockerfile; raise :class:`DockerfileSyntaxError` naming the line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    try:
        return _parse(text)
    except DockerfileSyntaxError as err:
        raise err.with_filename(filename) from None


def _parse(text: str) -> ParseResult:
    esc = _Escape()
    directives = DirectiveParser()
    root = Node(start_line=-1)
    warnings: list[Warning] = []
    comments: list[str] = []
    current = 0
    lines = _lines(text)

    def process(raw: str, strip_left: bool) -> tuple[str, bool]:
        token = _trim_newline(raw)
        if strip_left:
            token = token.lstrip(_GO_SPACE_CHARS)
        directive = directives.parse_line(token)
        found = directive is not None
        if directive is not None and directive.name == "escape":
            try:
                esc.set(directive.value)
            except ValueError as err:
                raise DockerfileSyntaxError(str(err), current) from None
        return ("" if _is_comment(token) else token), found

    def next_line() -> str | None:
        try:
            return next(lines)
        except _TooLong:
            raise DockerfileSyntaxError(
                f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES - 1}",
                current) from None
        except StopIteration:
            return None

    while (raw := next_line()) is not None:
        if current == 0:
            raw = raw.removeprefix("\ufeff")
        if _is_comment(raw):
            comment = raw[1:].strip(_GO_SPACE_CHARS)
            comments = [*comments, comment] if comment else []
        try:
            line, is_directive = process(raw, True)
        except DockerfileSyntaxError as err:
            raise DockerfileSyntaxError(err.message, current) from None
        if is_directive:
            comments = comments[:-1]
        current += 1
        start = current
        line, end_of_line = _trim_continuation(line, esc)
        if end_of_line and not line:
            continue
        buf = [line]
        empty_continuation = False
        while not end_of_line:
            raw = next_line()
            if raw is None:
                break
            try:
                cont, _ = process(raw, False)
            except DockerfileSyntaxError as err:
                raise DockerfileSyntaxError(err.message, current) from None
            current += 1
            if _is_comment(raw):
                continue
            if not _trim_newline(cont).lstrip(_GO_SPACE_CHARS):
                empty_continuation = True
                continue
            cont, end_of_line = _trim_continuation(cont, esc)
            buf.append(cont)
        logical = "".join(buf)
        if empty_continuation:
            warnings.append(Warning("Empty continuation line found in: " + logical, current,
                                    "https://docs.docker.com/go/dockerfile/rule/"
                                    "no-empty-continuation/"))
        try:
            child = node_from_line(logical, esc.token, comments)
        except ValueError as err:
            raise DockerfileSyntaxError(str(err), start, current) from None
        if _can_contain_heredoc(child) and "<<" in logical:
            try:
                docs = heredocs_from_line(logical)
            except (ValueError, ExpansionError) as err:
                raise DockerfileSyntaxError(str(err), start, current) from None
            for doc in docs:
                content: list[str] = [doc.content]
                terminated = False
                while (body := next_line()) is not None:
                    current += 1
                    candidate = _trim_newline(body)
                    if doc.chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == doc.name:
                        terminated = True
                        break
                    content.append(body)
                if not terminated:
                    raise DockerfileSyntaxError("unterminated heredoc", start, current)
                doc.content = "".join(content)
                child.heredocs.append(doc)
        child.start_line, child.end_line = start, current
        if root.start_line < 0:
            root.start_line = start
        root.end_line = current
        root.children.append(child)
        comments = []
    if root.start_line < 0:
        raise DockerfileSyntaxError("file with no instructions", current)
    return ParseResult(ast=root, escape_token=esc.token, warnings=warnings)
