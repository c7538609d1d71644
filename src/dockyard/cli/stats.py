"""``dockyard stats``: live resource usage, docker's table and ``--format`` fields.

Each refresh samples every shown container (see :mod:`dockyard.engine.stats`) about once a
second; CPU % is over the time since the previous sample, so ``--no-stream`` samples twice,
one second apart, and prints once.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from dockyard.cli.context import engine
from dockyard.errors import DockyardError, NotFound

__all__ = ["DEFAULT_FORMAT", "register", "stats", "stats_fields"]

DEFAULT_FORMAT = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
                  "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")
HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
           "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
INTERVAL = 1.0


def stats_fields(row: dict[str, Any], container: str, trunc: bool = True) -> dict[str, Any]:
    """docker's ``formatter.StatsEntry`` fields from :func:`engine.stats.summarize`."""
    from dockyard.cli.units import binary_size, human_size

    return {
        "ID": row["id"][:12] if trunc else row["id"], "Container": container,
        "Name": row["name"] or "--",
        "CPUPerc": f"{row['cpu_percent']:.2f}%",
        "MemUsage": f"{binary_size(row['mem_usage'])} / {binary_size(row['mem_limit'])}",
        "MemPerc": f"{row['mem_percent']:.2f}%",
        "NetIO": f"{human_size(row['net_rx'], 3)} / {human_size(row['net_tx'], 3)}",
        "BlockIO": f"{human_size(row['block_read'], 3)} / {human_size(row['block_write'], 3)}",
        "PIDs": str(row["pids"]),
    }


def _targets(all_: bool, containers: tuple[str, ...]) -> list[tuple[str, str]]:
    """(reference as given, id) of what to show."""
    eng = engine()
    if containers:
        return [(ref, eng.resolve(ref)) for ref in containers]
    return [(c["Id"][:12], c["Id"]) for c in eng.list(all=all_)]


@click.command("stats")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows "
              "just running).")
@click.option("--format", "fmt", default="", help="Pretty-print images using a Go template.")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the "
              "first result.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.argument("containers", nargs=-1)
def stats(all_: bool, fmt: str, no_stream: bool, no_trunc: bool,
          containers: tuple[str, ...]) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    from dockyard.cli.format import Formatter
    from dockyard.engine.stats import summarize

    formatter = Formatter(fmt or DEFAULT_FORMAT, headers=HEADERS)
    eng = engine()
    prev: dict[str, dict[str, Any]] = {}
    first = True
    while True:
        rows = []
        targets = _targets(all_, containers)
        for ref, cid in targets:
            try:
                cur = eng.stats(cid)
            except (NotFound, FileNotFoundError):
                if containers:
                    raise
                continue
            except DockyardError:
                continue
            rows.append((ref, cid, cur))
        if first and rows:
            first = False
            for _, cid, cur in rows:
                prev[cid] = cur
            time.sleep(INTERVAL)
            continue
        out = formatter.render(stats_fields(summarize(cur, prev.get(cid)), ref, not no_trunc)
                               for ref, cid, cur in rows)
        if not no_stream:
            sys.stdout.write("\033[2J\033[H")
        sys.stdout.write(out)
        sys.stdout.flush()
        if no_stream:
            return
        prev = {cid: cur for _, cid, cur in rows}
        time.sleep(INTERVAL)


def register(group: click.Group) -> None:
    group.add_command(stats)
