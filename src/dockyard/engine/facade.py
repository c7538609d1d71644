"""``Engine``: the one object cli/ and api/ call for containers.

It takes and returns Docker Engine API-shaped dicts (see :mod:`dockyard.engine.model`).
Several engines (processes) may work on the same roots at once: records, names and
state files are guarded by the store's locks (see :mod:`dockyard.engine.store`).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, BinaryIO

from dockyard.engine import views
from dockyard.engine.config import HostFacts
from dockyard.engine.lifecycle import Lifecycle
from dockyard.engine.model import ContainerJSON, CreateResult
from dockyard.engine.rootfs import ImageSource, StoreImages
from dockyard.settings import Roots

if TYPE_CHECKING:
    from dockyard.engine.network_verbs import NetworkVerbs

__all__ = ["DEFAULT_CGROUP_PARENT", "Engine"]

DEFAULT_CGROUP_PARENT = "dockyard"


class Engine:
    """Containers of one engine root: create, run, inspect, list and remove them."""

    def __init__(self, roots: Roots, images: ImageSource | None = None,
                 cgroup_parent: str = DEFAULT_CGROUP_PARENT,
                 facts: HostFacts | None = None) -> None:
        self.roots = roots
        self.images = images or StoreImages(roots)
        self.lc = Lifecycle(roots, self.images, cgroup_parent, facts or HostFacts.probe())

    @property
    def networks(self) -> NetworkVerbs:
        """``network create|ls|inspect|rm|connect|disconnect|prune``."""
        from dockyard.engine.network_verbs import NetworkVerbs

        return NetworkVerbs(self.lc)

    # state-changing verbs
    def create(self, name: str | None, config: dict[str, Any],
               host_config: dict[str, Any] | None = None,
               networking_config: dict[str, Any] | None = None) -> CreateResult:
        """Store a new container; ``{"Id": ..., "Warnings": [...]}``."""
        return self.lc.create(name, config, host_config, networking_config)

    def start(self, ref: str, attach: dict[str, object] | None = None) -> int:
        """Start it under its monitor; returns the init's host pid. ``attach``: an
        ``AttachPoint.spec`` the new monitor connects to first (attach before start)."""
        return self.lc.start(ref, attach)

    def stop(self, ref: str, timeout: int | None = None) -> None:
        self.lc.stop(ref, timeout)

    def kill(self, ref: str, signal: str | int = "KILL") -> None:
        self.lc.kill(ref, signal)

    def restart(self, ref: str, timeout: int | None = None) -> int:
        return self.lc.restart(ref, timeout)

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        self.lc.remove(ref, force, volumes)

    def wait(self, ref: str, condition: str = "not-running",
             timeout: float | None = None) -> dict[str, Any]:
        return self.lc.wait(ref, condition, timeout)

    def pause(self, ref: str) -> None:
        self.lc.pause(ref)

    def unpause(self, ref: str) -> None:
        self.lc.unpause(ref)

    def rename(self, ref: str, new_name: str) -> None:
        self.lc.rename(ref, new_name)

    def update(self, ref: str, resources: dict[str, Any]) -> list[str]:
        return self.lc.update(ref, resources)

    def prune(self) -> dict[str, Any]:
        return self.lc.prune()

    def boot(self) -> builtins.list[tuple[str, str]]:
        """After a machine restart: start the containers whose restart policy says so."""
        from dockyard.engine.boot import boot

        return boot(self.lc)

    def check(self, repair: bool = False) -> builtins.list[dict[str, Any]]:
        """Containers not accounted for (see :mod:`dockyard.engine.check`)."""
        from dockyard.engine.check import check_containers

        return check_containers(self.lc, repair)

    # views
    def resolve(self, ref: str) -> str:
        """Full id for a name, id or unique id prefix."""
        return self.lc.resolve(ref)

    def inspect(self, ref: str) -> ContainerJSON:
        return views.inspect(self.lc, ref)

    def list(self, all: bool = False, limit: int = -1,
             filters: dict[str, builtins.list[str]] | None = None,
             size: bool = False) -> builtins.list[dict[str, Any]]:
        return views.list_containers(self.lc, all, limit, filters, size)

    def stats(self, ref: str) -> dict[str, Any]:
        """One sample in the Engine API's stats shape (see :mod:`dockyard.engine.stats`)."""
        from dockyard.engine.stats import sample

        return sample(self.lc, self.lc.resolve(ref))

    def top(self, ref: str, ps_args: str = "-ef") -> dict[str, Any]:
        return views.top(self.lc, ref, ps_args)

    def changes(self, ref: str) -> builtins.list[dict[str, Any]]:
        """``docker diff``: ``[{"Path": ..., "Kind": 0|1|2}]`` from the container's upper."""
        from dockyard.engine.changes import overlay_changes, overlay_dirs

        upper, lowers = overlay_dirs(self.images.mounts(self.lc.resolve(ref)))
        return overlay_changes(upper, lowers)

    # exec
    def exec_create(self, ref: str, config: dict[str, Any]) -> str:
        """Store an exec (docker's ExecConfig: Cmd, Env, User, WorkingDir, Tty...)."""
        from dockyard.engine.execs import exec_create

        return exec_create(self.lc, ref, config)

    def exec_start(self, exec_id: str, detach: bool = False,
                   stdio: tuple[int | None, int | None, int | None] | None = None) -> int:
        """Run it with this process's stdio (or the fds in ``stdio``); its exit code."""
        from dockyard.engine.execs import exec_start

        return exec_start(self.lc, exec_id, detach, stdio)

    def exec_kill(self, exec_id: str) -> None:
        """Kill a running exec's processes (its API client went away)."""
        from dockyard.engine.execs import exec_kill

        exec_kill(self.lc, exec_id)

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        from dockyard.engine.execs import exec_inspect

        return exec_inspect(self.lc, exec_id)

    # cp (see :mod:`dockyard.engine.copy`)
    def copy_out(self, ref: str, path: str, out: BinaryIO, follow: bool = False,
                 contents_only: bool = False) -> dict[str, Any]:
        """A tar of ``path`` in the container to ``out``; its path stat."""
        from dockyard.engine.copy import copy_out

        return copy_out(self.lc, ref, path, out, follow, contents_only)

    def copy_in(self, ref: str, dest: str, stream: BinaryIO, src_base: str = "",
                src_is_dir: bool = False, contents_only: bool = False,
                owners: bool = False) -> None:
        """Extract a tar at ``dest`` in the container (docker's cp rules)."""
        from dockyard.engine.copy import copy_in

        copy_in(self.lc, ref, dest, stream, src_base, src_is_dir, contents_only, owners)

    def path_stat(self, ref: str, path: str) -> dict[str, Any]:
        from dockyard.engine.copy import path_stat

        return path_stat(self.lc, ref, path)

    # volumes (see :mod:`dockyard.engine.volumeops`)
    def volume_create(self, name: str | None = None, driver: str = "local",
                      options: dict[str, str] | None = None,
                      labels: dict[str, str] | None = None) -> dict[str, Any]:
        from dockyard.engine.volumeops import volume_create

        return volume_create(self.lc, name, driver, options, labels)

    def volume_inspect(self, name: str) -> dict[str, Any]:
        from dockyard.volumes import VolumeStore

        return VolumeStore(self.roots).inspect(name)

    def volume_list(self, filters: dict[str, builtins.list[str]] | None = None
                    ) -> builtins.list[dict[str, Any]]:
        from dockyard.engine.volumeops import volume_list

        return volume_list(self.lc, filters)

    def volume_remove(self, name: str, force: bool = False) -> None:
        from dockyard.engine.volumeops import volume_remove

        volume_remove(self.lc, name, force)

    def volume_prune(self, filters: dict[str, builtins.list[str]] | None = None
                     ) -> dict[str, Any]:
        from dockyard.engine.volumeops import volume_prune

        return volume_prune(self.lc, filters)

    def volume_usage(self) -> builtins.list[dict[str, Any]]:
        from dockyard.engine.volumeops import volume_usage

        return volume_usage(self.lc)

    # images of containers
    def commit(self, ref: str, repo_tag: str = "", changes: builtins.list[str] | None = None,
               message: str = "", author: str = "", pause: bool = True) -> str:
        """A new image from the container's changes; its id."""
        from dockyard.engine.commit import commit

        image_id = commit(self.lc, ref, repo_tag, changes, message, author, pause)
        self.lc.event(self.lc.store.load(self.lc.resolve(ref)), "commit", comment=message,
                      imageID=image_id, imageRef=repo_tag)
        return image_id

    def export(self, ref: str, out: BinaryIO) -> int:
        """The container's filesystem as a tar stream."""
        from dockyard.engine.commit import export

        size = export(self.lc, ref, out)
        self.lc.event(self.lc.store.load(self.lc.resolve(ref)), "export")
        return size

    def run_dir(self, ref: str) -> str:
        """``$RUN/containers/<id>``: where the monitor's socket lives (for attach/logs)."""
        return str(self.lc.run_dir(self.lc.resolve(ref)))

    def log_event(self, ref: str, action: str, **attributes: str) -> None:
        """Log a container event for a verb served outside the engine (``attach``,
        ``resize``: the CLI and the API talk to the monitor themselves)."""
        self.lc.event(self.lc.store.load(self.lc.resolve(ref)), action, **attributes)

    def container_dir(self, ref: str) -> str:
        """``$ROOT/containers/<id>``: state.json and logs."""
        return str(self.lc.store.dir(self.lc.resolve(ref)))
