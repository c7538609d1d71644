"""What every command gets from the root group: the engine's state directories."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from dockyard.settings import Roots

if TYPE_CHECKING:
    from dockyard.engine import Engine

__all__ = ["AppContext", "app_context", "engine"]


@dataclass
class AppContext:
    """The state directories, the debug flag and the engine of one command."""

    roots: Roots
    debug: bool = False
    _engine: Engine | None = None

    def engine(self) -> Engine:
        """The engine for these roots, made on first use (imports the engine package).

        ``DOCKYARD_CGROUP_PARENT`` names the parent cgroup of containers that do not set
        ``--cgroup-parent`` (tests put their session token there).
        """
        if self._engine is None:
            self._engine = self.new_engine()
        return self._engine

    def new_engine(self) -> Engine:
        """A separate engine object for these roots (one per worker thread)."""
        from dockyard.engine import Engine

        parent = os.environ.get("DOCKYARD_CGROUP_PARENT")
        return Engine(self.roots, cgroup_parent=parent) if parent else Engine(self.roots)


def app_context() -> AppContext:
    """The AppContext of the running command (set by the root group)."""
    obj = click.get_current_context().find_object(AppContext)
    if obj is None:  # called outside the root group, e.g. a command invoked directly
        obj = AppContext(Roots.from_env())
    return obj


def engine() -> Engine:
    """The running command's engine."""
    return app_context().engine()
