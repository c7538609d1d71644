"""The engine's side of ``dockyard build``: :class:`dockyard.build.StageExecutor` over
the image store, its snapshotter and the OCI runtime.

A build snapshot is a committed layer snapshot, named by its chain id like every image
layer, so a step result is shared with images and survives restarts. The small cache
table under ``$ROOT/build-cache`` maps a step's cache key to that chain id
(``keys/``), and each chain id to its layers and the base image's history
(``chains/``) so :meth:`BuildExecutor.commit` can write the image. RUN steps run on
the OCI runtime over a fresh snapshot of the parent (:mod:`.build_run`, with the spec
the engine writes for containers); their changes become the layer. COPY/ADD mount a
fresh snapshot and copy into it (:mod:`.build_copy`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from dockyard.build import BaseImage, CopyRequest, PatternMatcher, RunFailed, RunRequest
from dockyard.engine.build_copy import parse_chmod, resolve_chown
from dockyard.engine.build_mounts import StagedMounts
from dockyard.engine.build_snap import BuildImages, clean_run_artifacts
from dockyard.engine.build_sources import copy_sources
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.settings import Roots

if TYPE_CHECKING:
    from dockyard.engine.build_run import DirectRun

__all__ = ["DEFAULT_PATH_ENV", "LAST_LINES", "BuildExecutor"]

LAST_LINES = 10
DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _now() -> str:
    from dockyard.images.importer import now_rfc3339

    return now_rfc3339()


class BuildExecutor:
    """Executes build steps for one engine root; one instance per build (or more)."""

    def __init__(self, roots: Roots, *, cgroup_parent: str = "dockyard",
                 context: Path | None = None, ignore: PatternMatcher | None = None,
                 output: Callable[[str], None] | None = None) -> None:
        self.roots = roots
        self.context = context
        self.ignore = ignore
        self.output = output
        self.images = BuildImages(roots)
        self.cgroup_parent = cgroup_parent
        self._runner: DirectRun | None = None
        self.dir = roots.root / "build-cache"
        for sub in ("keys", "chains"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()

    @property
    def runner(self) -> DirectRun:
        """What runs RUN steps, made on first use (a cached build needs none)."""
        with self._lock:  # parallel stages: one runner, so one launcher writer
            if self._runner is None:
                from dockyard.engine.build_run import DirectRun

                self._runner = DirectRun(self.roots, self.cgroup_parent)
            return self._runner

    def cancel(self) -> None:
        """Stop the build: kill its running RUN steps; later steps are refused."""
        self.runner.cancel()

    # -- the cache table --------------------------------------------------------------
    def _key_file(self, cache_key: str) -> Path:
        return self.dir / "keys" / hashlib.sha256(cache_key.encode()).hexdigest()

    def _chain_file(self, chain: str) -> Path:
        return self.dir / "chains" / (chain.removeprefix("sha256:") + ".json")

    def _write_atomic(self, path: Path, data: str) -> None:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        tmp.write_text(data)
        os.replace(tmp, path)

    def _chain(self, snapshot: str | None) -> dict[str, Any]:
        if not snapshot:
            return {"layers": [], "history": []}
        try:
            return cast(dict[str, Any], json.loads(self._chain_file(snapshot).read_text()))
        except (OSError, ValueError):
            raise NotFound(f"build snapshot {snapshot} is not recorded") from None

    def _usable(self, snapshot: str) -> bool:
        from dockyard.images.snapshots import has_committed
        from dockyard.oci import Digest

        if not snapshot:
            return True
        try:
            record = self._chain(snapshot)
        except NotFound:
            return False
        store = self.images.store
        return has_committed(self.images.snapshotter, snapshot) and all(
            store.content.exists(Digest.parse(d)) for d, _, _ in record["layers"])

    def cached(self, cache_key: str) -> str | None:
        """The snapshot recorded under ``cache_key`` if it and its layers still exist."""
        with self._lock:
            try:
                snapshot = self._key_file(cache_key).read_text()
            except OSError:
                return None
            if not self._usable(snapshot):
                return None
            return snapshot or None

    def _record(self, cache_key: str, parent: str | None, diff_id: str, size: int) -> str:
        from dockyard.images.snapshots import chain_ids

        base = self._chain(parent)
        layers = [*base["layers"], [diff_id, size, _now()]]
        chain = chain_ids([d for d, _, _ in layers])[-1]
        self._write_atomic(self._chain_file(chain), json.dumps(
            {"layers": layers, "history": base["history"]}))
        self._write_atomic(self._key_file(cache_key), chain)
        return chain

    # -- FROM ----------------------------------------------------------------------
    def resolve_image(self, ref: str, platform: str) -> BaseImage:
        """The image ``ref`` from the store (unpacked); ``scratch`` is an empty root."""
        if ref == "scratch":
            return BaseImage("scratch", None, {"Env": [DEFAULT_PATH_ENV], "WorkingDir": "/"})
        with self._lock:
            store = self.images.store
            image = store.resolve(ref)
            chains = image.chain_ids
            top = str(chains[-1]) if chains else ""
            if top and not (self._chain_file(top).exists() and self._usable(top)):
                top = store.unpack(image)
            layers = [[str(d), desc.size, ""] for d, desc in zip(image.diff_ids,
                                                                 image.manifest.layers,
                                                                 strict=True)]
            history = [h.to_json() for h in image.config.history]
            if top:
                path = self._chain_file(top)
                if not path.exists():
                    self._write_atomic(path, json.dumps({"layers": layers,
                                                         "history": history}))
            config = dict(image.config.config)
            env = list(config.get("Env") or [])
            if not any(e.startswith("PATH=") for e in env):
                config["Env"] = [DEFAULT_PATH_ENV, *env]  # BuildKit gives every stage a PATH
            # every base entry carries "created" (maybe empty): commit keeps those as
            # they are and dates only the build's own entries
            base_history = [{"created": "", **h} for h in history]
            return BaseImage(str(image.id), top or None, config, base_history)

    # -- snapshots into layers --------------------------------------------------------
    def _commit_key(self, key: str, cache_key: str, parent: str | None) -> str:
        """Diff active snapshot ``key`` into a layer blob, commit it by chain id."""
        from dockyard.images.snapshots import chain_ids, diff_snapshot
        from dockyard.oci import Digest

        store, sn = self.images.store, self.images.snapshotter
        with store.writing():
            writer = store.content.writer()
            try:
                diff_id = Digest.parse(diff_snapshot(sn, key, cast(BinaryIO, writer)))
                size = writer.size
                writer.commit(diff_id)
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.abort()
                raise
            layers = [d for d, _, _ in self._chain(parent)["layers"]]
            chain = chain_ids([*layers, str(diff_id)])[-1]
            try:
                sn.commit(chain, key)
            except AlreadyExists:
                sn.remove(key)
            return self._record(cache_key, parent, str(diff_id), size)

    # -- RUN ------------------------------------------------------------------------
    def run(self, request: RunRequest) -> str:
        """Run the step over ``request.parent``; its changes are the layer."""
        if any(m.type == "ssh" for m in request.mounts):
            raise InvalidArgument("RUN --mount=type=ssh is not supported (no ssh agent "
                                  "forwarding)")
        if request.network not in ("default", "none", "host"):
            raise InvalidArgument(f"RUN --network={request.network}: want default, none "
                                  "or host")
        sn = self.images.snapshotter
        key = f"build-run-{secrets.token_hex(8)}"
        with self._lock:
            sn.prepare(key, request.parent or None)
        writable = sn.writable(key)
        # heredoc scripts: at /dev/pipes/NAME, as BuildKit mounts them
        scripts = self.roots.tmp / f"build-pipes-{secrets.token_hex(6)}"
        staged = StagedMounts(writable.path, request.workdir, self.dir / "mounts")
        try:
            try:
                with contextlib.ExitStack() as views:
                    if request.mounts and not writable.overlay:
                        raise InvalidArgument("RUN --mount needs the overlay snapshotter")
                    self._stage(staged, request, views)
                    if request.inline_files:
                        scripts.mkdir(mode=0o755, parents=True)
                        for name, text in request.inline_files.items():
                            (scripts / name).write_text(text)
                            os.chmod(scripts / name, 0o755)
                        staged.pipes(scripts)
                    result = self.runner.run(sn.mounts(key), request.args, request.env,
                                             request.workdir, request.user, request.network,
                                             staged.spec_mounts, self._line_sink())
            finally:
                staged.undo()
                shutil.rmtree(scripts, ignore_errors=True)
            lines = result.output.decode(errors="replace").splitlines()
            if result.exit_code != 0:
                raise RunFailed(result.exit_code, lines[-LAST_LINES:])
            with self._lock:
                clean_run_artifacts(sn, key)
                return self._commit_key(key, request.cache_key, request.parent)
        except BaseException:
            with contextlib.suppress(NotFound), self._lock:
                sn.remove(key)
            raise

    def _stage(self, staged: StagedMounts, request: RunRequest,
               views: contextlib.ExitStack) -> None:
        from dockyard.build import included_paths
        from dockyard.engine import rooted
        from dockyard.engine.build_snap import viewed

        for m in request.mounts:
            if m.type == "secret":
                staged.secret(m, request.secrets)
            elif m.type == "cache":
                staged.cache(m)
            elif m.type == "tmpfs":
                staged.tmpfs(m)
            elif m.from_:
                snapshot = request.from_snapshots.get(m.from_)
                # a read-only bind needs the stage's view until the step ends
                root = views.enter_context(viewed(self.roots, self.images.snapshotter,
                                                  snapshot))
                staged.bind(m, rooted.resolve(root, m.source or "/"))
            elif self.context is None:
                raise InvalidArgument(f"bind mount {m.target}: no build context")
            else:
                source = rooted.resolve(self.context, m.source or "/")
                rel = os.path.relpath(source, self.context)
                if rel != "." and self.ignore is not None and self.ignore.matches(rel):
                    raise InvalidArgument(f"bind mount {m.target}: source {m.source} not "
                                          "found (excluded by .dockerignore)")
                only = None
                if self.ignore is not None and self.ignore.patterns and source.is_dir():
                    start = "" if rel == "." else rel
                    cut = len(start) + 1 if start else 0
                    only = [p[cut:] for p in included_paths(self.context, self.ignore, start)]
                staged.bind(m, source, only)

    def _line_sink(self) -> Callable[[bytes], None] | None:
        """Hands each line of a RUN's output to ``output`` as it is written."""
        output = self.output
        if output is None:
            return None
        return lambda line: output(line.decode(errors="replace").rstrip("\r\n"))

    # -- COPY / ADD / WORKDIR ---------------------------------------------------------
    def copy(self, request: CopyRequest) -> str:
        """Copy into a fresh snapshot over ``request.parent``; record it."""
        from dockyard.engine.build_snap import mounted

        chmod = parse_chmod(request.chmod)
        with self._lock:
            sn = self.images.snapshotter
            key = f"build-copy-{secrets.token_hex(8)}"
            sn.prepare(key, request.parent or None)
            try:
                with mounted(self.roots, sn.mounts(key)) as root:
                    owner = resolve_chown(root, request.chown) if request.chown else None
                    copy_sources(root, request, owner, chmod, roots=self.roots,
                                 snapshotter=self.images.snapshotter, ignore=self.ignore)
                return self._commit_key(key, request.cache_key, request.parent)
            except BaseException:
                with contextlib.suppress(NotFound):
                    sn.remove(key)
                raise

    # -- the image ------------------------------------------------------------------
    def commit(self, snapshot: str | None, config: Mapping[str, Any],
               history: Sequence[Mapping[str, Any]], tags: Sequence[str]) -> str:
        """Write config and manifest over the snapshot's layers; move ``tags`` to it."""
        from dockyard.oci import (
            Descriptor,
            Digest,
            History,
            ImageConfig,
            Manifest,
            mediatypes,
            parse_reference,
        )
        from dockyard.oci.platform import host_platform

        full_tags = [str(parse_reference(t)) for t in tags]
        with self._lock:
            record = self._chain(snapshot)
            layers = record["layers"]
            times = [t for _, _, t in layers if t] or [_now()]
            entries: list[History] = []
            # the build's layers follow the base image's (one per non-empty base entry)
            n_base = sum(1 for h in history if "created" in h and not h.get("empty_layer"))
            new_layers = [t or times[-1] for _, _, t in layers[min(n_base, len(layers)):]]
            at = 0
            last = times[0]
            for h in history:
                if "created" in h:  # the base image's own entry
                    entries.append(History(str(h["created"]), str(h.get("created_by", "")),
                                           str(h.get("comment", "")), str(h.get("author", "")),
                                           bool(h.get("empty_layer"))))
                    continue
                if not h.get("empty_layer") and at < len(new_layers):
                    last = new_layers[at]
                    at += 1
                entries.append(History(last, str(h.get("created_by", "")),
                                       str(h.get("comment", "")), str(h.get("author", "")),
                                       bool(h.get("empty_layer"))))
            plat = host_platform()
            runtime = {k: v for k, v in config.items() if v not in (None, "", [], {})}
            if isinstance(runtime.get("Healthcheck"), dict):
                # Go's omitempty: docker writes no zero durations or counts
                runtime["Healthcheck"] = {k: v for k, v in runtime["Healthcheck"].items()
                                          if v not in (0, None)}
            cfg = ImageConfig(plat.architecture, plat.os,
                              tuple(Digest.parse(d) for d, _, _ in layers), runtime,
                              entries[-1].created if entries else last,
                              variant=plat.variant, history=tuple(entries))
            store = self.images.store
            with store.writing():
                raw = cfg.to_bytes()
                cfg_digest = store.content.write(raw)
                manifest = Manifest(
                    Descriptor(mediatypes.OCI_CONFIG, cfg_digest, len(raw)),
                    tuple(Descriptor(mediatypes.OCI_LAYER, Digest.parse(d), s)
                          for d, s, _ in layers))
                image, _ = store.register(manifest, full_tags, hold=False)
        from dockyard.engine.events import image_event

        labels = dict(config.get("Labels") or {})
        for tag in tags:  # docker's builder: one ``tag`` event a name, as ``docker tag``
            image_event(self.roots, "tag", str(image.id), parse_reference(tag).familiar(),
                        labels)
        return str(image.id)

    def close(self) -> None:
        """Release the store and snapshotter connections."""
        self.images.close()
