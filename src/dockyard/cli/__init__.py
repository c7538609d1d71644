"""The ``dockyard`` command (click + rich), a face of the engine library.

``main`` (in ``cli/main.py``) is the entry point. Each ``cli/<area>.py`` module adds its
commands with ``register(group)`` and is imported only when one of them runs; flag
parsing (``opts``, ``runflags``, ``units``), ``--format`` (``template``, ``format``) and
``ps`` output (``output``) are plain functions with no engine behind them.
"""

from __future__ import annotations

__all__ = ["main"]


def __getattr__(name: str) -> object:  # no typing import: the client starts here
    if name == "main":  # imported on use: click is not needed to import the package
        from dockyard.cli.main import main

        return main
    raise AttributeError(name)
