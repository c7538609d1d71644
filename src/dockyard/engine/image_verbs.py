"""Image verbs that also log docker's image events, shared by the commands and the
Engine API (so ``docker events`` sees a tag or rmi made either way)."""

from __future__ import annotations

from typing import Any

from dockyard.engine.events import image_event
from dockyard.settings import Roots

__all__ = ["remove_image", "tag_image"]


def tag_image(roots: Roots, store: Any, source: str, target: str) -> None:
    """``docker tag``: name ``source``'s image ``target``; a ``tag`` event."""
    from dockyard.oci import parse_reference

    store.tag(source, target)
    image_event(roots, "tag", str(store.resolve(target).id),
                parse_reference(target).familiar())


def remove_image(roots: Roots, store: Any, ref: str, force: bool) -> list[dict[str, str]]:
    """``docker rmi``: docker's ``[{"Untagged": …}, {"Deleted": …}]`` and, for each,
    an ``untag`` or ``delete`` event."""
    image_id = str(store.resolve(ref).id)
    changes: list[dict[str, str]] = store.remove(ref, force=force)
    for change in changes:
        for key, value in change.items():
            # dockerd names the image id in both (LogImageEvent(id, id, ...))
            gone = image_id if key == "Untagged" else str(value)
            image_event(roots, "untag" if key == "Untagged" else "delete", gone, gone)
    return changes
