"""What ``ps`` prints: docker's row fields, columns, truncation and wording.

``summary()`` turns a container as the engine inspects it into the Engine API's
``/containers/json`` entry (what dockerd computes: ``Status`` such as "Up 3 seconds" or
"Exited (0) About a minute ago"); ``ps_row()`` turns that entry into the fields the
docker CLI offers to ``--format`` (``.ID``, ``.Names``, ``.RunningFor``…) with the same
truncation and quoting.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dockyard.cli.format import Formatter
from dockyard.cli.template_funcs import GoMap
from dockyard.cli.units import human_duration, human_size
from dockyard.engine.status import parse_time

__all__ = [
    "PS_DEFAULT_TABLE",
    "PS_HEADERS",
    "ellipsis",
    "parse_time",
    "ps_row",
    "render_ps",
    "state_status",
    "summary",
]

PS_DEFAULT_TABLE = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}"
                    "\t{{.Ports}}\t{{.Names}}")
PS_HEADERS = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
    "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Label": "LABEL",
    "Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
}
_ZERO_TIME = "0001-01-01T00:00:00Z"


def ellipsis(text: str, width: int) -> str:
    """docker's stringutils.Ellipsis: cut to ``width`` characters ending in "…"."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    return text[: width - 1] + "…"


def state_status(state: Mapping[str, Any], now: float | None = None) -> str:
    """dockerd's State.String(): "Up 3 seconds (Paused)", "Exited (1) 2 hours ago"…"""
    now = time.time() if now is None else now
    started = parse_time(state.get("StartedAt", _ZERO_TIME))
    finished = parse_time(state.get("FinishedAt", _ZERO_TIME))
    if state.get("Running"):
        if state.get("Paused"):
            return f"Up {human_duration(now - (started or now))} (Paused)"
        if state.get("Restarting"):
            ago = human_duration(now - (finished or now))
            return f"Restarting ({state.get('ExitCode', 0)}) {ago} ago"
        health = (state.get("Health") or {}).get("Status", "")
        up = f"Up {human_duration(now - (started or now))}"
        if health == "starting":  # docker's Health.String()
            health = "health: starting"
        return f"{up} ({health})" if health and health != "none" else up
    if state.get("Status") == "removing":
        return "Removal In Progress"
    if state.get("Dead"):
        return "Dead"
    if started is None:
        return "Created"
    if finished is None:
        return ""
    return f"Exited ({state.get('ExitCode', 0)}) {human_duration(now - finished)} ago"


def _command(c: Mapping[str, Any]) -> str:
    args = [c.get("Path", ""), *(c.get("Args") or [])]
    return " ".join(a for a in args if a is not None).strip()


def summary(c: Mapping[str, Any], now: float | None = None,
            sizes: tuple[int, int] | None = None) -> dict[str, Any]:
    """The ``GET /containers/json`` entry for an inspected container."""
    state = c.get("State") or {}
    created = parse_time(c.get("Created", "")) or 0.0
    settings = c.get("NetworkSettings") or {}
    host = c.get("HostConfig") or {}
    entry: dict[str, Any] = {
        "Id": c["Id"],
        "Names": ["/" + c.get("Name", "").lstrip("/")],
        "Image": (c.get("Config") or {}).get("Image", ""),
        "ImageID": c.get("Image", ""),
        "Command": _command(c),
        "Created": int(created),
        "Ports": [],
        "Labels": dict((c.get("Config") or {}).get("Labels") or {}),
        "State": state.get("Status", ""),
        "Status": state_status(state, now),
        "HostConfig": {"NetworkMode": host.get("NetworkMode", "")},
        "NetworkSettings": {"Networks": dict(settings.get("Networks") or {})},
        "Mounts": list(c.get("Mounts") or []),
    }
    if sizes is not None:
        entry["SizeRw"], entry["SizeRootFs"] = sizes
    return entry


def _truncate_id(text: str) -> str:
    return text.partition(":")[2][:12] if ":" in text else text[:12]


def _image(entry: Mapping[str, Any], trunc: bool) -> str:
    image = str(entry.get("Image") or "")
    if not image:
        return "<no image>"
    if trunc:
        image_id = str(entry.get("ImageID") or "")
        if image_id and _truncate_id(image_id) == _truncate_id(image):
            return _truncate_id(image)
        image = image.split("@", 1)[0]
        if image.startswith("docker.io/library/"):
            image = image[len("docker.io/library/"):]
        elif image.startswith("docker.io/"):
            image = image[len("docker.io/"):]
    return image


def _names(entry: Mapping[str, Any], trunc: bool) -> str:
    names = []
    for name in entry.get("Names") or []:
        bare = name.removeprefix("/")
        if trunc and "/" in bare:  # a link's name: only shown with --no-trunc
            continue
        names.append(bare)
    return ",".join(names)


def _labels(labels: Mapping[str, str]) -> str:
    # docker joins them in map order, which Go randomises; sorted is stable.
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def ps_row(entry: Mapping[str, Any], trunc: bool = True,
           now: float | None = None) -> dict[str, Any]:
    """The fields ``docker ps --format`` offers, for one ``/containers/json`` entry."""
    now = time.time() if now is None else now
    command = entry.get("Command", "")
    if trunc:
        command = ellipsis(command, 20)
    labels: Mapping[str, str] = entry.get("Labels") or {}
    created = float(entry.get("Created", 0))
    mounts = entry.get("Mounts") or []
    mount_names = []
    for m in mounts:
        name = m.get("Name") or m.get("Source", "")
        mount_names.append(ellipsis(name, 15) if trunc else name)
    size_rw, size_root = entry.get("SizeRw", 0), entry.get("SizeRootFs", 0)
    size = human_size(size_rw, 3)
    if size_root:
        size = f"{size} (virtual {human_size(size_root, 3)})"
    networks = sorted((entry.get("NetworkSettings") or {}).get("Networks") or {})
    row = GoMap({
        "ID": entry["Id"][:12] if trunc else entry["Id"],
        "Image": _image(entry, trunc),
        "Command": _go_quote(command),
        "CreatedAt": _go_time(created),
        "RunningFor": human_duration(now - created) + " ago",
        "Ports": displayable_ports(entry.get("Ports") or []),
        "State": entry.get("State", ""),
        "Status": entry.get("Status", ""),
        "Size": size,
        "Names": _names(entry, trunc),
        "Labels": _labels(labels),
        "Label": lambda key: labels.get(key, ""),
        "Mounts": ",".join(mount_names),
        "Networks": ",".join(networks),
        "LocalVolumes": str(sum(1 for m in mounts if m.get("Driver") == "local")),
    })
    return row


def _go_quote(text: str) -> str:
    """Go's strconv.Quote for printable text: double quotes, backslash escapes."""
    out = ['"']
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif not c.isprintable():
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x80 else
                       (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _go_time(stamp: float) -> str:
    """Go's time.Unix(s, 0).String() in local time: ``2021-05-06 10:11:12 +0000 UTC``."""
    moment = datetime.fromtimestamp(int(stamp)).astimezone()
    offset = moment.strftime("%z")
    zone = moment.tzname() or offset
    return moment.strftime("%Y-%m-%d %H:%M:%S ") + f"{offset} {zone}"


def render_ps(entries: Sequence[Mapping[str, Any]], fmt: str = "", quiet: bool = False,
              trunc: bool = True, size: bool = False, now: float | None = None) -> str:
    """``docker ps`` output for ``/containers/json`` entries, newest first as given."""
    if quiet and not fmt:
        fmt = "{{.ID}}"
    if not fmt or fmt == "table":
        fmt = PS_DEFAULT_TABLE + ("\t{{.Size}}" if size else "")
    formatter = Formatter(fmt, PS_HEADERS, PS_DEFAULT_TABLE)
    return formatter.render(ps_row(e, trunc, now) for e in entries)


def displayable_ports(ports: list[Mapping[str, Any]]) -> str:
    """``ps``'s PORTS column from the API's port list, as the docker CLI writes it:
    ports published on the same host port number grouped into ranges per address and
    protocol (``0.0.0.0:8000-8001->8000-8001/tcp``), other mappings after them
    (``127.0.0.1:18080->80/tcp``), unpublished ones as ``80/tcp``."""
    def order(p: Mapping[str, Any]) -> tuple[int, str, int, str]:
        return (int(p.get("PrivatePort") or 0), str(p.get("IP") or ""),
                int(p.get("PublicPort") or 0), str(p.get("Type") or ""))

    groups: dict[tuple[str, str], list[list[int]]] = {}
    mappings: list[str] = []
    for p in sorted(ports, key=order):
        private, ip, public, proto = (int(p.get("PrivatePort") or 0), str(p.get("IP") or ""),
                                      int(p.get("PublicPort") or 0), str(p.get("Type") or ""))
        if ip and public != private:
            mappings.append(f"{_host_port(ip, public)}->{private}/{proto}")
            continue
        runs = groups.setdefault((ip, proto), [])
        if runs and runs[-1][1] + 1 == private:
            runs[-1][1] = private
        else:
            runs.append([private, private])
    out = []
    for (ip, proto), runs in groups.items():
        for first, last in runs:
            span = str(first) if first == last else f"{first}-{last}"
            out.append(f"{_host_port(ip, span)}->{span}/{proto}" if ip else f"{span}/{proto}")
    return ", ".join(out + mappings)


def _host_port(ip: str, port: object) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"

