"""``system df`` output: docker's summary table and ``-v`` sections, plus container logs."""

from __future__ import annotations

import time
from typing import Any

from dockyard.cli.format import Formatter
from dockyard.cli.output import ellipsis
from dockyard.cli.units import human_duration, human_size

__all__ = ["render_df", "summary_rows"]

_HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
            "Reclaimable": "RECLAIMABLE"}
_DEFAULT = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"


def _pct(part: int, total: int) -> str:
    return f"{human_size(part)} ({part * 100 // total}%)" if total else human_size(part)


def summary_rows(usage: dict[str, Any]) -> list[dict[str, str]]:
    """docker's five-column rows, computed as its client does, with a Logs row added."""
    images, containers = usage["Images"], usage["Containers"]
    total = int(usage["LayersSize"])
    used = sum(i["Size"] - i["SharedSize"] for i in images if i["Containers"])
    running = [c for c in containers if c["State"] in ("running", "paused", "restarting")]
    c_size = sum(int(c.get("SizeRw") or 0) for c in containers)
    c_idle = sum(int(c.get("SizeRw") or 0) for c in containers if c not in running)
    vols = usage["Volumes"]
    v_size = sum(int(v["UsageData"]["Size"]) for v in vols)
    v_idle = sum(int(v["UsageData"]["Size"]) for v in vols if not v["UsageData"]["RefCount"])
    cache = usage["BuildCache"]
    b_size = sum(int(b["Size"]) for b in cache)
    logs = usage["Logs"]
    running_ids = {c["Id"] for c in running}
    l_size = sum(int(lg["Size"]) for lg in logs)
    l_idle = sum(int(lg["Size"]) for lg in logs if lg["Id"] not in running_ids)
    return [
        {"Type": "Images", "TotalCount": str(len(images)),
         "Active": str(sum(1 for i in images if i["Containers"])), "Size": human_size(total),
         "Reclaimable": _pct(total - used, total)},
        {"Type": "Containers", "TotalCount": str(len(containers)), "Active": str(len(running)),
         "Size": human_size(c_size), "Reclaimable": _pct(c_idle, c_size)},
        {"Type": "Local Volumes", "TotalCount": str(len(vols)),
         "Active": str(sum(1 for v in vols if v["UsageData"]["RefCount"])),
         "Size": human_size(v_size), "Reclaimable": _pct(v_idle, v_size)},
        {"Type": "Build Cache", "TotalCount": str(len(cache)),
         "Active": str(sum(1 for b in cache if b["InUse"])), "Size": human_size(b_size),
         "Reclaimable": human_size(sum(int(b["Size"]) for b in cache if not b["InUse"]))},
        {"Type": "Container Logs", "TotalCount": str(sum(1 for lg in logs if lg["Files"])),
         "Active": str(sum(1 for lg in logs if lg["Files"] and lg["Id"] in running_ids)),
         "Size": human_size(l_size), "Reclaimable": _pct(l_idle, l_size)},
    ]


def _ago(stamp: float) -> str:
    return human_duration(time.time() - stamp) + " ago" if stamp else "N/A"


def _verbose(usage: dict[str, Any]) -> str:
    parts = ["Images space usage:\n\n"]
    rows = []
    for i in usage["Images"]:
        for tag in i["RepoTags"] or ["<none>:<none>"]:
            repo, _, name = tag.rpartition(":")
            rows.append({"Repository": repo.removeprefix("docker.io/library/"), "Tag": name,
                         "ID": i["Id"].removeprefix("sha256:")[:12],
                         "CreatedSince": _ago(i["Created"]), "Size": human_size(i["Size"]),
                         "SharedSize": human_size(i["SharedSize"]),
                         "UniqueSize": human_size(i["Size"] - i["SharedSize"]),
                         "Containers": str(i["Containers"])})
    parts.append(Formatter(
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t"
        "{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
        {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED",
         "Size": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
         "Containers": "CONTAINERS"}).render(rows))
    parts.append("\nContainers space usage:\n\n")
    rows = [{"ID": c["Id"][:12], "Image": c["Image"], "Command": f'"{ellipsis(c["Command"], 20)}"',
             "LocalVolumes": "0", "Size": human_size(int(c.get("SizeRw") or 0)),
             "RunningFor": _ago(c["Created"]), "Status": c["Status"],
             "Names": c["Names"][0].lstrip("/")} for c in usage["Containers"]]
    parts.append(Formatter(
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t"
        "{{.RunningFor}}\t{{.Status}}\t{{.Names}}",
        {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
         "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE", "RunningFor": "CREATED",
         "Status": "STATUS", "Names": "NAMES"}).render(rows))
    parts.append("\nLocal Volumes space usage:\n\n")
    rows = [{"Name": v["Name"], "Links": str(v["UsageData"]["RefCount"]),
             "Size": human_size(v["UsageData"]["Size"])} for v in usage["Volumes"]]
    parts.append(Formatter("table {{.Name}}\t{{.Links}}\t{{.Size}}",
                           {"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"})
                 .render(rows))
    cache = usage["BuildCache"]
    parts.append(f"\nBuild cache usage: {human_size(sum(int(b['Size']) for b in cache))}\n\n")
    rows = [{"ID": b["ID"], "Type": b["Type"], "Size": human_size(b["Size"]),
             "CreatedSince": _ago(b["CreatedAt"]), "LastUsedSince": _ago(b["LastUsedAt"]),
             "UsageCount": str(b["UsageCount"]), "Shared": str(b["Shared"]).lower()}
            for b in cache]
    parts.append(Formatter(
        "table {{.ID}}\t{{.Type}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t"
        "{{.UsageCount}}\t{{.Shared}}",
        {"ID": "CACHE ID", "Type": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
         "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"})
        .render(rows))
    parts.append("\nContainer logs space usage:\n\n")
    rows = [{"ID": lg["Id"][:12], "Names": lg["Names"][0].lstrip("/"), "Driver": lg["Driver"],
             "Files": str(lg["Files"]), "Size": human_size(lg["Size"])} for lg in usage["Logs"]]
    parts.append(Formatter("table {{.ID}}\t{{.Names}}\t{{.Driver}}\t{{.Files}}\t{{.Size}}",
                           {"ID": "CONTAINER ID", "Names": "NAMES", "Driver": "LOG DRIVER",
                            "Files": "FILES", "Size": "SIZE"}).render(rows))
    return "".join(parts)


def render_df(usage: dict[str, Any], fmt: str | None, verbose: bool) -> str:
    """The text ``system df`` prints."""
    if verbose and not fmt:
        return _verbose(usage)
    return Formatter(fmt or _DEFAULT, _HEADERS, _DEFAULT).render(summary_rows(usage))
