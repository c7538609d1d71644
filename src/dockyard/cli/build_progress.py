"""``dockyard build --progress tty``: a live view like BuildKit's terminal display.

A header with the elapsed time and finished/known steps, one line per step (``=>``,
``CACHED`` or its duration, a running timer while it runs), and the last few lines
of output under each running step. rich is imported only when this view is used.
Steps of parallel stages run in their own threads; output lines belong to the step
the calling thread is running.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TtyProgress"]

_TAIL = 6  # output lines shown under a running step


@dataclass
class _Step:
    label: str
    started: float
    finished: float | None = None
    cached: bool = False
    lines: list[str] = field(default_factory=list)


class TtyProgress:
    """Collects step events and draws them with ``rich.live.Live`` on stderr."""

    def __init__(self, stream: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = Console(file=stream, stderr=stream is None, highlight=False)
        self.start = time.monotonic()
        self.steps: list[_Step] = []
        self.current: dict[int, _Step] = {}
        self.lock = threading.Lock()
        self.done = False
        self.live = Live(console=self.console, refresh_per_second=8, transient=False,
                         get_renderable=self.render)

    def __enter__(self) -> TtyProgress:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.done = True
        self.live.stop()

    def started(self, event: Any) -> None:
        step = _Step(f"[{event.stage} {event.index}/{event.total}] {event.text}",
                     time.monotonic())
        with self.lock:
            self.steps.append(step)
            self.current[threading.get_ident()] = step

    def step(self, event: Any) -> None:
        with self.lock:
            step = self.current.pop(threading.get_ident(), None)
            if step is None:  # a step the view never saw begin
                step = _Step(f"[{event.stage} {event.index}/{event.total}] {event.text}",
                             time.monotonic() - event.seconds)
                self.steps.append(step)
            step.cached = event.cached
            step.finished = step.started + event.seconds

    def output(self, line: str) -> None:
        with self.lock:
            step = self.current.get(threading.get_ident())
            if step is not None:
                step.lines = [*step.lines[-(_TAIL - 1):], line]

    def render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        with self.lock:
            steps = list(self.steps)
            finished = sum(s.finished is not None for s in steps)
            state = "FINISHED" if self.done else ""
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        head = f"[+] Building {now - self.start:.1f}s ({finished}/{len(steps)}) {state}"
        grid.add_row(Text(head.rstrip(), style="bold blue" if self.done else "bold"), "")
        for s in steps:
            if s.finished is None and state:  # the build stopped while it ran
                grid.add_row(Text(f" => ERROR {s.label}", style="bold red"),
                             Text(f"{now - s.started:.1f}s", style="red"))
                for line in s.lines:
                    grid.add_row(Text(f" => => # {line}", style="dim"), "")
            elif s.finished is None:
                grid.add_row(Text(f" => {s.label}", style="yellow"),
                             Text(f"{now - s.started:.1f}s", style="yellow"))
                for line in s.lines:
                    grid.add_row(Text(f" => => # {line}", style="dim"), "")
            elif s.cached:
                grid.add_row(Text(f" => CACHED {s.label}", style="blue"), Text("0.0s"))
            else:
                grid.add_row(Text(f" => {s.label}", style="blue"),
                             Text(f"{s.finished - s.started:.1f}s"))
        return grid
