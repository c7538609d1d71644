"""Per-layer progress of ``pull`` and ``push`` as the docker CLI shows it.

On a terminal, one live line per layer (``<id>: Downloading [====>   ]  1.2MB/4.5MB``)
drawn with rich, imported only then. Otherwise docker's plain lines: every status
change except the ones that carry a bar (Downloading, Extracting, Pushing). ``-q``
shows nothing.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from dockyard.cli.units import human_size

__all__ = ["LayerProgress", "bar_line"]

_BAR_STATUSES = frozenset({"Downloading", "Extracting", "Pushing"})
_WIDTH = 50


def bar_line(layer: str, status: str, current: int, total: int) -> str:
    """``<layer>: <status>`` with docker's bar and sizes when ``status`` has one."""
    if status not in _BAR_STATUSES or total <= 0:
        return f"{layer}: {status}"
    filled = min(_WIDTH, int(current / total * 100) // 2)
    bar = "=" * filled + ">" + " " * (_WIDTH - filled)
    return f"{layer}: {status} [{bar}] {human_size(current):>8}/{human_size(total)}"


class _Board:
    """The live lines, rendered by rich at each refresh (not at each update)."""

    def __init__(self, rows: dict[str, tuple[str, int, int]]) -> None:
        self.rows = rows

    def __rich__(self) -> Any:
        from rich.text import Text

        return Text("\n".join(bar_line(layer, *row) for layer, row in self.rows.items()))


class LayerProgress:
    """Receives ``(layer id, status, bytes so far, total)`` updates and shows them."""

    def __init__(self, quiet: bool = False, out: TextIO | None = None,
                 tty: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.quiet = quiet
        self.tty = self.out.isatty() if tty is None else tty
        self.rows: dict[str, tuple[str, int, int]] = {}
        self._live: Any = None

    def __enter__(self) -> LayerProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, layer: str, status: str, current: int = 0, total: int = 0) -> None:
        if self.quiet:
            return
        before = self.rows.get(layer)
        self.rows[layer] = (status, current, total)
        if not self.tty:
            if status not in _BAR_STATUSES and (before is None or before[0] != status):
                print(f"{layer}: {status}", file=self.out, flush=True)
            return
        if self._live is None:
            self._start()

    def _start(self) -> None:
        from rich.console import Console
        from rich.live import Live

        console = Console(file=self.out, highlight=False, soft_wrap=True)
        self._live = Live(_Board(self.rows), console=console, refresh_per_second=8,
                          transient=False)
        self._live.start()

    def close(self) -> None:
        """Draw the final state and stop drawing (lines printed after follow it)."""
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None
