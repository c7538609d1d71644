"""``--format`` the way the docker CLI applies it: ``table``, ``json``, raw templates.

``table …`` prints a header made by running the same template over the column titles
(with ``json``/``join``/``upper``… passing the titles through untouched, as docker's
header functions do) and aligns cells like Go's ``text/tabwriter`` with docker's
settings (minimum width 10, padding 3). ``\\t`` and ``\\n`` typed literally in the
format become a tab and a newline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dockyard.cli.template import Template, go_str

__all__ = ["Formatter", "is_table", "tabwrite"]


def is_table(fmt: str) -> bool:
    """Whether ``fmt`` asks for a table (``table`` or ``table {{…}}``)."""
    return fmt.startswith("table")


def _identity(value: Any, *_: Any) -> Any:
    return value


# In the header row these functions return the title they are given (docker's
# templates.HeaderFunctions), so ``table {{upper .Names}}`` titles the column "NAMES".
_HEADER_FUNCS: dict[str, Callable[..., Any]] = {
    name: _identity for name in ("json", "join", "split", "lower", "upper", "title", "pad",
                                 "truncate")
}


def _cell_width(text: str) -> int:
    return len(text)


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-separated cells like Go's tabwriter (``tabwriter.NewWriter(w, 10, 1, 3,
    ' ', 0)``): a column's width is its widest cell plus padding, at least ``minwidth``,
    over each block of consecutive lines that have that column; a line's last cell is
    not padded."""
    if not text:
        return text
    lines = [line.split("\t") for line in text.split("\n")]
    trailing = lines and lines[-1] == [""]
    if trailing:
        lines.pop()
    out: list[str] = [""] * len(lines)
    widths: list[int] = []

    def emit(start: int, end: int) -> None:
        for n in range(start, end):
            cells = lines[n]
            parts = []
            for j, cell in enumerate(cells):
                if j < len(widths) and j < len(cells) - 1:
                    parts.append(cell + " " * (widths[j] - _cell_width(cell)))
                else:
                    parts.append(cell)
            out[n] = "".join(parts)

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            emit(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, _cell_width(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        emit(line0, line1)

    fmt(0, len(lines))
    return "\n".join(out) + ("\n" if trailing else "")


class Formatter:
    """One ``--format`` value, ready to render objects.

    ``default_table`` is used for the bare word ``table``; ``headers`` maps field names
    to column titles. ``strict`` makes an unknown field an error (typed contexts such as
    ps rows); inspect's raw JSON uses ``strict=False``.
    """

    def __init__(self, fmt: str, headers: Mapping[str, str] | None = None,
                 default_table: str = "", strict: bool = True) -> None:
        self.table = is_table(fmt)
        body = fmt
        if fmt == "json":
            body = "{{json .}}"
        elif self.table:
            body = fmt[len("table"):].strip() or default_table.removeprefix("table").strip()
        body = body.replace("\\t", "\t").replace("\\n", "\n")
        self.template = Template(body, strict=strict)
        self.header_template = Template(body, funcs=_HEADER_FUNCS, strict=False)
        self.headers = dict(headers or {})

    def header(self) -> str:
        """The header row, made by running the template over the titles."""
        titles: dict[str, Any] = {}
        for key, title in self.headers.items():
            titles[key] = title
        for key in _CALLABLE_TITLES & set(self.headers):
            titles[key] = _echo
        return self.header_template.execute(titles)

    def render(self, items: Iterable[Any]) -> str:
        """All rows, each ending in a newline; aligned with a header for tables."""
        rows = [self.template.execute(item) + "\n" for item in items]
        if not self.table:
            return "".join(rows)
        return tabwrite(self.header() + "\n" + "".join(rows))


# Columns that are methods taking an argument in docker (``{{.Label "k"}}``); their
# title is the argument itself.
_CALLABLE_TITLES = {"Label"}


def _echo(value: Any = "", *_: Any) -> Any:
    return value


def render_value(value: Any) -> str:
    """Print one value as Go would (for commands that print a single field)."""
    return go_str(value)
