"""The Dockerfile syntax tree, shaped like BuildKit's ``parser.Node``, and parse errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from dockyard.errors import InvalidArgument

from .._text import GO_SPACE_CHARS, go_quote, go_quote_list

__all__ = ["DockerfileSyntaxError", "Heredoc", "Node", "ParseResult", "Warning", "go_lower"]


class DockerfileSyntaxError(InvalidArgument):
    """A Dockerfile that BuildKit would refuse, with the lines it is about.

    ``str(err)`` reads ``Dockerfile:3: <message>``; ``start_line``/``end_line`` are
    BuildKit's line numbers (1-based; 0 for errors before the first line).
    """

    def __init__(self, message: str, start_line: int, end_line: int = 0,
                 filename: str = "Dockerfile") -> None:
        # undecodable bytes (kept as lone surrogates) are shown as \xNN so the
        # message can always be printed
        self.message = re.sub("[\udc80-\udcff]", lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}",
                              message)
        self.start_line = start_line
        self.end_line = max(end_line, start_line)
        self.filename = filename
        super().__init__(f"{filename}:{start_line}: {self.message}")

    def with_filename(self, filename: str) -> DockerfileSyntaxError:
        """The same error naming another file."""
        return DockerfileSyntaxError(self.message, self.start_line, self.end_line, filename)

    def excerpt(self, source: str, context: int = 2) -> str:
        """Render the lines around the error the way ``docker build`` shows them."""
        lines = source.splitlines()
        first = max(1, self.start_line - context)
        last = min(len(lines), self.end_line + context)
        out = [f"{self.filename}:{self.start_line}" + (
            f"-{self.end_line}" if self.end_line > self.start_line else ""), "-" * 20]
        for no in range(first, last + 1):
            mark = ">>>" if self.start_line <= no <= self.end_line else "   "
            out.append(f" {no:>3} | {mark} {lines[no - 1]}")
        out.append("-" * 20)
        return "\n".join(out)


@dataclass
class Heredoc:
    """One ``<<NAME`` document attached to a RUN, COPY or ADD."""

    name: str
    file_descriptor: int = 0
    expand: bool = True
    chomp: bool = False
    content: str = ""


@dataclass
class Node:
    """One node of the tree: an instruction at the top, its arguments along ``next``.

    ``children`` holds the instructions of the root node and the nested instruction
    of ONBUILD; ``flags`` (``--from=x``) are kept only on instruction nodes.
    """

    value: str = ""
    next: Node | None = None
    children: list[Node] = field(default_factory=list)
    heredocs: list[Heredoc] = field(default_factory=list)
    attributes: dict[str, bool] = field(default_factory=dict)
    original: str = ""
    flags: list[str] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0
    prev_comment: list[str] = field(default_factory=list)

    def iter_next(self) -> Iterator[Node]:
        """The argument nodes that follow this one."""
        node = self.next
        while node is not None:
            yield node
            node = node.next

    def args(self) -> list[str]:
        """The values of the argument nodes."""
        return [n.value for n in self.iter_next()]

    @property
    def is_json(self) -> bool:
        """True when the arguments came from a JSON (exec form) array."""
        return self.attributes.get("json", False)

    def dump(self) -> str:
        """Print the tree as BuildKit's ``Node.Dump`` does (the parser tests' format)."""
        parts = [go_lower(self.value)]
        if self.flags:
            parts.append(" " + go_quote_list(self.flags))
        for child in self.children:
            parts.append("(" + child.dump() + ")\n")
        for n in self.iter_next():
            parts.append(" " + (n.dump() if n.children else go_quote(n.value)))
        return "".join(parts).strip(GO_SPACE_CHARS)


@dataclass
class Warning:
    """A problem the parser tolerates (BuildKit's empty continuation line)."""

    short: str
    line: int
    url: str = ""


@dataclass
class ParseResult:
    """The tree of one Dockerfile and what the parser learnt along the way."""

    ast: Node
    escape_token: str = "\\"
    warnings: list[Warning] = field(default_factory=list)


def go_lower(text: str) -> str:
    """Lower-case per character like Go's ``strings.ToLower`` (simple case mapping)."""
    out = []
    for ch in text:
        low = ch.lower()
        out.append(low if len(low) == 1 else low[0])
    return "".join(out)
