"""Image verbs that also log docker's image events, shared by the commands and the
Engine API (so ``docker events`` sees a tag or rmi made either way)."""

from __future__ import annotations

from typing import Any

from dockyard.engine.events import image_event
from dockyard.settings import Roots

__all__ = ["log_imported", "log_loaded", "log_saved", "remove_image", "tag_image"]


def tag_image(roots: Roots, store: Any, source: str, target: str) -> None:
    """``docker tag``: name ``source``'s image ``target``; a ``tag`` event."""
    from dockyard.oci import parse_reference

    store.tag(source, target)
    image = store.resolve(target)
    image_event(roots, "tag", str(image.id), parse_reference(target).familiar(),
                image.config.config.get("Labels"))


def remove_image(roots: Roots, store: Any, ref: str, force: bool) -> list[dict[str, str]]:
    """``docker rmi``: docker's ``[{"Untagged": …}, {"Deleted": …}]`` and, for each,
    an ``untag`` or ``delete`` event."""
    image = store.resolve(ref)
    image_id, labels = str(image.id), image.config.config.get("Labels")
    changes: list[dict[str, str]] = store.remove(ref, force=force)
    for change in changes:
        for key, value in change.items():
            # dockerd names the image id in both (LogImageEvent(id, id, ...)); an untag
            # still finds the image's labels, a delete (logged once it is gone) does not
            if key == "Untagged":
                image_event(roots, "untag", image_id, image_id, labels)
            else:
                image_event(roots, "delete", str(value), str(value))
    return changes


def log_saved(roots: Roots, store: Any, refs: list[str]) -> None:
    """``save`` events, one per image written to an archive."""
    for ref in refs:
        image_id = str(store.resolve(ref).id)
        image_event(roots, "save", image_id, image_id)


def log_loaded(roots: Roots, store: Any, lines: list[str]) -> None:
    """``load`` events from ``load``'s docker lines (``Loaded image: name`` or
    ``Loaded image ID: sha256:…``)."""
    for line in lines:
        _, sep, what = line.partition(": ")
        if not sep or not line.startswith("Loaded image"):
            continue
        try:
            image_id = str(store.resolve(what.strip()).id)
        except Exception:  # an event is never worth failing the load
            continue
        image_event(roots, "load", image_id, image_id)


def log_imported(roots: Roots, image_id: str) -> None:
    """The ``import`` event of ``docker import``."""
    image_event(roots, "import", image_id, image_id)
