"""What every command gets from the root group: the engine's state directories."""

from __future__ import annotations

from dataclasses import dataclass

import click

from dockyard.settings import Roots

__all__ = ["AppContext", "app_context"]


@dataclass
class AppContext:
    roots: Roots
    debug: bool = False


def app_context() -> AppContext:
    """The AppContext of the running command (set by the root group)."""
    obj = click.get_current_context().find_object(AppContext)
    if obj is None:  # called outside the root group, e.g. a command invoked directly
        obj = AppContext(Roots.from_env())
    return obj
