"""Lexing and parsing of Go text/template actions into a small tree (see ``template``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["Node", "Parser", "Pipeline", "TemplateError"]

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+))
  | (?P<field>(?:\.[A-Za-z_]\w*)+|\.)
  | (?P<var>\$\w*(?:\.[A-Za-z_]\w*)*)
  | (?P<decl>:=|=)
  | (?P<punct>[|(),])
  | (?P<ident>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
""", re.VERBOSE)


class TemplateError(InvalidArgument):
    """A template failed to parse or to execute."""


# ---- parse tree ----------------------------------------------------------------------

@dataclass
class Pipeline:
    """Commands joined by ``|``, with the variables they declare (``$x :=``) or set."""

    decl: list[str]
    assign: bool
    cmds: list[list[Any]]  # each command is a list of operand nodes


@dataclass
class Node:
    """Text, an action, or an ``if``/``range``/``with`` block with its ``else`` part."""

    kind: str  # text, action, if, range, with
    text: str = ""
    pipe: Pipeline | None = None
    body: list[Node] = field(default_factory=list)
    alt: list[Node] = field(default_factory=list)


def _lex_action(src: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if m is None:
            raise TemplateError(f"template: :1: unexpected {src[pos]!r} in command")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, m.group()))
    return tokens


def _split_actions(src: str) -> list[tuple[str, str]]:
    """Text and action pieces, with ``{{-``/``-}}`` trimming applied."""
    out: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    while True:
        start = src.find("{{", pos)
        text = src[pos:] if start < 0 else src[pos:start]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if start < 0:
            if text:
                out.append(("text", text))
            return out
        inner_start = start + 2
        if src.startswith("- ", inner_start) or src.startswith("-\t", inner_start) or \
                src.startswith("-\n", inner_start):
            text = text.rstrip(" \t\r\n")
            inner_start += 1
        if text:
            out.append(("text", text))
        end = _action_end(src, inner_start)
        if end < 0:
            raise TemplateError("template: :1: unclosed action")
        inner = src[inner_start:end]
        trim_next = False
        if inner.endswith((" -", "\t-", "\n-")):
            inner = inner[:-1]
            trim_next = True
        out.append(("action", inner.strip()))
        pos = end + 2


def _action_end(src: str, pos: int) -> int:
    """Index of the ``}}`` closing the action at ``pos``, skipping quoted text."""
    quote = ""
    i = pos
    while i < len(src):
        c = src[i]
        if quote:
            if c == "\\" and quote != "`":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"`'":
            quote = c
        elif src.startswith("}}", i):
            return i
        i += 1
    return -1


class Parser:
    """Turns template source into a list of ``Node``s."""

    def __init__(self, src: str) -> None:
        self.pieces = _split_actions(src)
        self.i = 0

    def parse_list(self, stops: tuple[str, ...]) -> tuple[list[Node], str, list[tuple[str, str]]]:
        nodes: list[Node] = []
        while self.i < len(self.pieces):
            kind, text = self.pieces[self.i]
            self.i += 1
            if kind == "text":
                nodes.append(Node("text", text))
                continue
            if text.startswith("/*"):
                if not text.endswith("*/"):
                    raise TemplateError("template: :1: unclosed comment")
                continue
            tokens = _lex_action(text)
            if not tokens:
                raise TemplateError("template: :1: missing value for command")
            word = tokens[0][1] if tokens[0][0] == "ident" else ""
            if word in stops:
                return nodes, word, tokens[1:]
            if word in ("end", "else"):
                raise TemplateError(f"template: :1: unexpected {{{{{word}}}}}")
            if word in ("if", "range", "with"):
                nodes.append(self.parse_block(word, tokens[1:]))
            elif word in ("define", "template", "block", "break", "continue"):
                raise TemplateError(f"template: :1: {word} is not supported")
            else:
                nodes.append(Node("action", pipe=_parse_pipeline(tokens)))
        if stops:
            raise TemplateError("template: :1: unexpected EOF")
        return nodes, "", []

    def parse_block(self, word: str, tokens: list[tuple[str, str]]) -> Node:
        node = Node(word, pipe=_parse_pipeline(tokens))
        node.body, stop, rest = self.parse_list(("end", "else"))
        if stop == "else":
            if rest and rest[0] == ("ident", "if") and word == "if":
                node.alt = [self.parse_block("if", rest[1:])]
                return node  # the nested if consumed the shared {{end}}
            if rest and rest[0][0] == "ident" and rest[0][1] in ("with",) and word == "with":
                node.alt = [self.parse_block("with", rest[1:])]
                return node
            node.alt, stop, _ = self.parse_list(("end",))
        return node


def _parse_pipeline(tokens: list[tuple[str, str]]) -> Pipeline:
    decl: list[str] = []
    assign = False
    # ``$x :=`` or ``$i, $v :=``
    j = 0
    names: list[str] = []
    while j < len(tokens) and tokens[j][0] == "var" and "." not in tokens[j][1]:
        names.append(tokens[j][1])
        if j + 1 < len(tokens) and tokens[j + 1] == ("punct", ","):
            j += 2
            continue
        if j + 1 < len(tokens) and tokens[j + 1][0] == "decl":
            decl = names
            assign = tokens[j + 1][1] == "="
            tokens = tokens[j + 2:]
        break
    pos = 0
    cmds, pos = _parse_cmds(tokens, pos)
    if pos != len(tokens):
        raise TemplateError(f"template: :1: unexpected {tokens[pos][1]!r} in operand")
    if not cmds:
        raise TemplateError("template: :1: missing value for command")
    return Pipeline(decl, assign, cmds)


def _parse_cmds(tokens: list[tuple[str, str]], pos: int) -> tuple[list[list[Any]], int]:
    cmds: list[list[Any]] = []
    cmd: list[Any] = []
    while pos < len(tokens):
        kind, text = tokens[pos]
        if kind == "punct" and text == ")":
            break
        pos += 1
        if kind == "punct" and text == "|":
            if not cmd:
                raise TemplateError("template: :1: missing value for command")
            cmds.append(cmd)
            cmd = []
        elif kind == "punct" and text == "(":
            inner, pos = _parse_cmds(tokens, pos)
            if pos >= len(tokens) or tokens[pos][1] != ")":
                raise TemplateError("template: :1: unclosed left paren")
            pos += 1
            chain: list[str] = []
            if pos < len(tokens) and tokens[pos][0] == "field" and tokens[pos][1] != ".":
                chain = tokens[pos][1].split(".")[1:]
                pos += 1
            cmd.append(("pipe", Pipeline([], False, inner), chain))
        elif kind == "punct":
            raise TemplateError(f"template: :1: unexpected {text!r} in operand")
        elif kind == "str":
            cmd.append(("lit", _unquote(text)))
        elif kind == "raw":
            cmd.append(("lit", text[1:-1]))
        elif kind == "num":
            cmd.append(("lit", _number(text)))
        elif kind == "field":
            cmd.append(("field", [] if text == "." else text.split(".")[1:]))
        elif kind == "var":
            name, *chain = text.split(".")
            cmd.append(("var", name, chain))
        elif kind == "ident":
            name, *chain = text.split(".")
            if name in ("true", "false"):
                cmd.append(("lit", name == "true"))
            elif name == "nil":
                cmd.append(("lit", None))
            else:
                if chain:
                    raise TemplateError(f"template: :1: unexpected {text!r} in operand")
                cmd.append(("func", name))
        else:
            raise TemplateError(f"template: :1: unexpected {text!r} in operand")
    if cmd:
        cmds.append(cmd)
    elif cmds:
        raise TemplateError("template: :1: missing command after |")
    return cmds, pos


def _unquote(text: str) -> str:
    body = text[1:-1]
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
               "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
                continue
            if nxt in "xuU":
                size = {"x": 2, "u": 4, "U": 8}[nxt]
                digits = body[i + 2:i + 2 + size]
                if len(digits) != size or any(c not in "0123456789abcdefABCDEF"
                                              for c in digits):
                    raise TemplateError(f"template: :1: invalid syntax in string {text}")
                out.append(chr(int(digits, 16)))
                i += 2 + size
                continue
            raise TemplateError(f"template: :1: invalid syntax in string {text}")
        out.append(c)
        i += 1
    return "".join(out)


def _number(text: str) -> int | float:
    if text.lower().lstrip("-").startswith("0x"):
        return int(text, 16)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return float(text)
