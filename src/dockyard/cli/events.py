"""``dockyard events``: the engine's event log, past and live, as ``docker events`` prints it.

Without ``--until`` it follows new events until interrupted; ``--since`` first replays
the stored ones from then. ``--filter`` takes docker's keys (container, event, image,
label, network, type, volume, scope...); ``--format`` a Go template (``{{json .}}``).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from dockyard.cli.context import app_context
from dockyard.errors import InvalidArgument

__all__ = ["events", "format_event", "register"]


def format_event(ev: dict[str, Any]) -> str:
    """docker's default line: ``<time> <type> <action> <id> (k=v, ...)``."""
    from dockyard.engine.logs import format_fixed

    actor = ev.get("Actor") or {}
    head = f"{format_fixed(int(ev.get('timeNano') or 0))} {ev.get('Type')} {ev.get('Action')} " \
        f"{actor.get('ID', '')}"
    attrs = actor.get("Attributes") or {}
    if attrs:
        head += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return head


def parse_event_filters(values: tuple[str, ...]) -> dict[str, list[str]]:
    from dockyard.cli.listing import parse_filters
    from dockyard.engine.events import FILTER_KEYS

    filters = parse_filters(values)
    for key in filters:
        if key not in FILTER_KEYS:
            raise InvalidArgument(f"invalid filter '{key}'")
    return filters


@click.command("events")
@click.option("-f", "--filter", "filters", multiple=True,
              help="Filter output based on conditions provided.")
@click.option("--format", "fmt", default="", help="Format the output using the given Go "
              "template.")
@click.option("--since", default="", help="Show all events created since timestamp.")
@click.option("--until", default="", help="Stream events until this timestamp.")
def events(filters: tuple[str, ...], fmt: str, since: str, until: str) -> None:
    """Get real time events from the server."""
    from dockyard.engine.events import matches, stream_events
    from dockyard.engine.logs import parse_since

    wanted = parse_event_filters(filters)
    now = time.time_ns()
    since_ns = parse_since(since, "since", now) if since else None
    until_ns = parse_since(until, "until", now) if until else None
    if since_ns is not None and until_ns is not None and since_ns > until_ns:
        raise InvalidArgument("`since` time cannot be after `until` time")
    template = None
    if fmt:
        from dockyard.cli.format import Formatter

        template = Formatter(fmt, strict=False)
    root = app_context().roots.root
    for ev in stream_events(root, since_ns, until_ns, follow=True):
        if not matches(ev, wanted):
            continue
        line = template.render([ev]) if template is not None else format_event(ev) + "\n"
        sys.stdout.write(line)
        sys.stdout.flush()


def register(group: click.Group) -> None:
    group.add_command(events)
