"""What every ``… prune`` command shares: docker's confirmation prompt and report."""

from __future__ import annotations

from collections.abc import Iterable

import click

__all__ = ["confirm_prune", "print_pruned"]


def confirm_prune(warning: str) -> bool:
    """Print ``warning`` and ask as docker does (``… continue? [y/N] ``, default no)."""
    click.echo(warning)
    return click.confirm("Are you sure you want to continue?", default=False,
                         show_default=False, prompt_suffix=" [y/N] ")


def print_pruned(title: str, deleted: Iterable[str], reclaimed: int) -> None:
    """``Deleted <title>:`` with one line each and a blank line (when any were), then
    the space reclaimed."""
    from dockyard.cli.units import human_size

    names = list(deleted)
    if names:
        click.echo(f"Deleted {title}:")
        for name in names:
            click.echo(name)
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(reclaimed)}")
