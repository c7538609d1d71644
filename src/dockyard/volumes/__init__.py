"""Volumes: named volumes, bind and tmpfs mounts, safe copy in and out.

``parse`` reads docker's mount syntaxes (``-v``, ``--mount``, ``--tmpfs``,
``--volumes-from``) into :class:`MountPoint` records with docker's messages; ``store``
keeps named and anonymous volumes under ``$ROOT/volumes`` (the ``local`` driver);
``copy`` moves files in and out of a container's root without leaving it.
"""

from dockyard.volumes.parse import MountPoint
from dockyard.volumes.store import VolumeStore, new_volume_name

__all__ = ["MountPoint", "VolumeStore", "new_volume_name"]
