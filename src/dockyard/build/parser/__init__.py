"""Dockerfile parsing: text to a BuildKit-shaped syntax tree, and parser directives."""

from __future__ import annotations

from .directives import Directive, DirectiveParser, detect_syntax, parse_directive
from .node import DockerfileSyntaxError, Heredoc, Node, ParseResult, Warning
from .parser import heredocs_from_line, parse, parse_heredoc

__all__ = [
    "Directive",
    "DirectiveParser",
    "DockerfileSyntaxError",
    "Heredoc",
    "Node",
    "ParseResult",
    "Warning",
    "detect_syntax",
    "heredocs_from_line",
    "parse",
    "parse_directive",
    "parse_heredoc",
]
