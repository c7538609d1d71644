"""The event log: every lifecycle event, on disk, readable later and followed live.

``$ROOT/events/events.log`` holds one JSON object per line in the shape docker 20.10's
``GET /events`` sends (``status``/``id``/``from`` for container and image events, then
``Type``, ``Action``, ``Actor{ID, Attributes}``, ``scope``, ``time``, ``timeNano``). Each
event is one ``write`` on a descriptor opened with ``O_APPEND``, so monitors and engine
commands writing at once never interleave. Past ``MAX_BYTES`` the file is renamed to
``events.log.1`` (the previous one dropped) under ``events.lock``.

``emit(roots, type, action, actor_id, attributes)`` is the one call other layers use.
Imported by the monitor process (which appends only): light modules at import time.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # not typing's: the monitor imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from dockyard.settings import Roots

__all__ = ["FILTER_KEYS", "MAX_BYTES", "append", "emit", "event", "image_event", "log_path",
           "matches", "read_events", "stream_events"]

MAX_BYTES = 8 << 20
FILTER_KEYS = ("config", "container", "daemon", "event", "image", "label", "network", "node",
               "plugin", "scope", "secret", "service", "type", "volume")
LOG = "events.log"


def log_path(root: str | os.PathLike[str]) -> str:
    """``$ROOT/events/events.log`` for an engine root directory."""
    return os.path.join(os.fspath(root), "events", LOG)


def event(type_: str, action: str, actor_id: str, attributes: dict[str, str] | None = None,
          now_ns: int | None = None) -> dict[str, object]:
    """One event in docker's ``events.Message`` shape (its JSON key order)."""
    now = time.time_ns() if now_ns is None else now_ns
    attrs = {str(k): str(v) for k, v in (attributes or {}).items()}
    out: dict[str, object] = {}
    if type_ in ("container", "image"):
        out["status"] = action
        out["id"] = actor_id
        if type_ == "container" and attrs.get("image"):
            out["from"] = attrs["image"]
    out.update(Type=type_, Action=action, Actor={"ID": actor_id, "Attributes": attrs},
               scope="local", time=now // 1_000_000_000, timeNano=now)
    return out


def append(path: str, record: dict[str, object], max_bytes: int = MAX_BYTES) -> None:
    """Append one event line (one ``O_APPEND`` write); rotate once past ``max_bytes``."""
    # the monitor's encoder: light enough for the monitor (which loads this module bare)
    from dockyard.engine.monitor.protocol import dumps

    line = (dumps(record) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, line)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > max_bytes:
        _rotate(path, max_bytes)


def _rotate(path: str, max_bytes: int) -> None:
    import fcntl

    lock = os.open(path[: -len(LOG)] + "events.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                   0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_size > max_bytes:  # not already rotated by another writer
                os.rename(path, path + ".1")
        except FileNotFoundError:
            pass
    finally:
        os.close(lock)


def emit(roots: Roots, type_: str, action: str, actor_id: str,
         attributes: dict[str, str] | None = None) -> dict[str, object]:
    """Record one event in ``roots``' log (for the network, volume, image... layers).

    Never raises for a full or read-only disk: losing an event must not fail the verb.
    """
    record = event(type_, action, actor_id, attributes)
    try:
        append(log_path(roots.root), record)
    except OSError:
        pass
    return record


def image_event(roots: Roots, action: str, image: str, name: str,
                labels: dict[str, str] | None = None) -> None:
    """dockerd's ``LogImageEvent``: pull/push (``image`` is the reference), tag, untag,
    delete (``image`` is the image id); ``name`` is the reference in familiar form, and
    the image's ``labels`` come first among the attributes, as dockerd copies them."""
    emit(roots, "image", action, image, {**(labels or {}), "name": name})


def _parse(line: bytes) -> dict[str, object] | None:
    import json

    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None  # a torn last line of a crashed writer
    return obj if isinstance(obj, dict) else None


def _in_range(ev: dict[str, object], since_ns: int | None, until_ns: int | None) -> bool:
    t = int(str(ev.get("timeNano", 0)))
    return (since_ns is None or t >= since_ns) and (until_ns is None or t <= until_ns)


def _lines(data: bytes) -> Iterator[dict[str, object]]:
    for line in data.splitlines():
        ev = _parse(line)
        if ev is not None:
            yield ev


def read_events(root: str | os.PathLike[str], since_ns: int | None = None,
                until_ns: int | None = None) -> Iterator[dict[str, object]]:
    """The stored events in range, oldest first (the rotated file, then the live one)."""
    return stream_events(root, since_ns, until_ns, follow=False)


def stream_events(root: str | os.PathLike[str], since_ns: int | None = None,
                  until_ns: int | None = None, follow: bool = True, poll: float = 0.1,
                  stop: Callable[[], bool] | None = None) -> Iterator[dict[str, object]]:
    """``docker events``: the stored events from ``since_ns`` (none when it is None and
    following), then, with ``follow``, new ones as they are appended (across rotations,
    by inode) until ``until_ns`` passes or ``stop()`` says so."""
    path = log_path(root)
    past = since_ns is not None or until_ns is not None or not follow
    f = None
    try:
        try:
            f = open(path, "rb")  # noqa: SIM115  # reopened across rotations
        except FileNotFoundError:
            f = None
        if past:
            try:
                with open(path + ".1", "rb") as old:
                    if f is None or os.fstat(old.fileno()).st_ino != os.fstat(f.fileno()).st_ino:
                        yield from (e for e in _lines(old.read())
                                    if _in_range(e, since_ns, until_ns))
            except FileNotFoundError:
                pass
        elif f is not None:
            f.seek(0, os.SEEK_END)
        ino = os.fstat(f.fileno()).st_ino if f is not None else -1
        buf = b""
        while True:
            if f is not None:
                chunk = f.read()
                if chunk:
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for ev in _lines(b"\n".join(lines)):
                        if _in_range(ev, since_ns, until_ns):
                            yield ev
                    continue
            if not follow or (until_ns is not None and time.time_ns() > until_ns):
                return
            if stop is not None and stop():
                return
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino != ino:  # rotated or created: read the new one
                if f is not None:
                    rest = buf + f.read()  # what was written before the rename
                    f.close()
                    yield from (e for e in _lines(rest) if _in_range(e, since_ns, until_ns))
                f = open(path, "rb")  # noqa: SIM115
                ino = os.fstat(f.fileno()).st_ino
                buf = b""
                continue
            time.sleep(poll)
    finally:
        if f is not None:
            f.close()


def _label_matches(attrs: dict[str, object], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    if key not in attrs:
        return False
    return not sep or str(attrs[key]) == value


def matches(ev: dict[str, object], filters: dict[str, list[str]]) -> bool:
    """Docker's event filters: container, event, image, label, network, type, volume,
    scope; values of one key are alternatives, keys must all match."""
    actor = ev.get("Actor") if isinstance(ev.get("Actor"), dict) else {}
    assert isinstance(actor, dict)
    attrs = actor.get("Attributes") if isinstance(actor.get("Attributes"), dict) else {}
    assert isinstance(attrs, dict)
    etype = str(ev.get("Type", ""))
    action = str(ev.get("Action", ""))
    actor_id = str(actor.get("ID", ""))

    def one(key: str, test: Callable[[str], bool]) -> bool:
        values = filters.get(key)
        return not values or any(test(v) for v in values)

    def by_id_or_name(v: str) -> bool:  # docker's FuzzyMatch: prefix of the ID or name
        return actor_id.startswith(v) or str(attrs.get("name", "")).startswith(v)

    def event_test(v: str) -> bool:
        if v in ("health_status", "exec_create", "exec_start", "exec_die"):
            return action == v or action.startswith(v + ":")
        return action == v

    def image_test(v: str) -> bool:
        image = str(attrs.get("image", "")) if etype == "container" else actor_id
        name = str(attrs.get("name", "")) if etype == "image" else ""
        return v in (image, name) or image.split(":")[0] == v or \
            (image.startswith("sha256:") and image[7:].startswith(v))

    return (one("type", lambda v: etype == v)
            and one("event", event_test)
            and one("container", by_id_or_name)
            and one("network", by_id_or_name)
            and one("volume", by_id_or_name)
            and one("image", image_test)
            and one("label", lambda v: _label_matches(attrs, v))
            and one("scope", lambda v: v == ev.get("scope")))
