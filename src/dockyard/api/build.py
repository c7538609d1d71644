"""``POST /build``: a tar context in, the classic builder's JSON stream out.

The context is unpacked (tarfile's ``data`` filter: no absolute paths, no ``..``, no
links out, no devices) into a scratch dir under ``$ROOT/tmp`` and built by the same
``Builder``/``BuildExecutor`` as ``dockyard build``. Messages: ``{"stream": "Step 1/3 :
..."}`` per step, the steps' output lines, ``{"aux": {"ID": ...}}``, then
``Successfully built``/``Successfully tagged``; a failure is ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from dockyard.api import params
from dockyard.api.app import Router, ctx
from dockyard.api.context import ApiContext
from dockyard.api.images import JsonStream
from dockyard.errors import DockyardError, InvalidArgument

__all__ = ["routes"]


def _json_map(request: web.Request, name: str) -> dict[str, str]:
    raw = request.query.get(name, "")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidArgument(f"{name}: invalid JSON") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{name}: expected a JSON object")
    return {str(k): str(v) for k, v in data.items() if v is not None}


def _unpack(src: Path, dest: Path) -> None:
    try:
        with tarfile.open(src, "r:*") as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise InvalidArgument(f"build context: {err}") from None


def _build(c: ApiContext, ctx_dir: Path, dockerfile: str, opts: dict[str, Any],
           emit: Any, cancelled: threading.Event) -> str:
    import os

    from dockyard.build import (
        Builder,
        BuildOptions,
        PatternMatcher,
        ignore_file_for,
        read_ignore_file,
    )
    from dockyard.engine.build_executor import BuildExecutor

    path = (ctx_dir / dockerfile).resolve()
    if not path.is_relative_to(ctx_dir.resolve()) or not path.is_file():
        raise InvalidArgument(f"Cannot locate specified Dockerfile: {dockerfile}")
    text = path.read_text(errors="replace")
    matcher = None
    ignore = ignore_file_for(ctx_dir, path)
    if ignore is not None:
        matcher = PatternMatcher(read_ignore_file(ignore.read_bytes()))
    step = [0]

    def progress(event: Any) -> None:
        step[0] += 1
        suffix = "\n ---> Using cache\n" if event.cached else "\n"
        emit({"stream": f"Step {step[0]} : {event.text}{suffix}"})

    def output(line: str) -> None:
        if not cancelled.is_set():
            emit({"stream": line.rstrip("\n") + "\n"})

    parent = c.cgroup_parent or os.environ.get("DOCKYARD_CGROUP_PARENT")
    extra = {"cgroup_parent": parent} if parent else {}
    executor = BuildExecutor(c.roots, context=ctx_dir, ignore=matcher, output=output, **extra)
    try:
        result = Builder(executor, progress=progress).build(BuildOptions(
            text, context=ctx_dir, filename=path.name, target=opts["target"] or None,
            build_args=opts["buildargs"], tags=opts["tags"], labels=opts["labels"],
            no_cache=opts["nocache"], ignore=matcher))
    finally:
        executor.close()
    for warning in result.warnings:
        emit({"stream": f"[Warning] {warning}\n"})
    return result.image_id


async def build(request: web.Request) -> web.StreamResponse:
    from dockyard.oci import parse_reference

    c = ctx(request)
    tags = request.query.getall("t", [])
    for t in tags:
        parse_reference(t)
    if params.text(request, "remote"):
        raise InvalidArgument("remote build contexts are not supported")
    opts = {"tags": tags, "target": params.text(request, "target"),
            "nocache": params.boolean(request, "nocache"),
            "buildargs": _json_map(request, "buildargs"), "labels": _json_map(request, "labels")}
    quiet = params.boolean(request, "q")
    dockerfile = params.text(request, "dockerfile") or "Dockerfile"
    c.roots.tmp.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=c.roots.tmp, prefix="api-build-"))
    stream = JsonStream(request)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    cancelled = threading.Event()

    def emit(message: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, message)

    try:
        tar_path = scratch / "context.tar"
        with open(tar_path, "wb") as out:
            async for chunk in request.content.iter_chunked(1 << 20):
                await c.run(out.write, chunk)
        ctx_dir = scratch / "context"
        ctx_dir.mkdir()
        await c.run(_unpack, tar_path, ctx_dir)
        tar_path.unlink()
        task = asyncio.ensure_future(c.run(_build, c, ctx_dir, dockerfile, opts, emit,
                                           cancelled))
        try:
            while not task.done() or not queue.empty():
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait([task, getter], return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    if not quiet:
                        await stream.send(getter.result())
                else:
                    getter.cancel()
            image_id = task.result()
        except DockyardError as err:
            return await stream.fail(err)
        finally:
            cancelled.set()
            if not task.done():  # the client left: let the build end, then clean up
                await asyncio.wait([task])
        await stream.send({"aux": {"ID": image_id}})
        if quiet:  # the classic client prints the stream it got: here only the id
            await stream.send({"stream": image_id + "\n"})
        else:
            await stream.send({"stream": f"Successfully built {image_id.split(':')[-1][:12]}\n"})
            for t in tags:
                await stream.send({"stream": f"Successfully tagged {t}\n"})
        return await stream.finish()
    finally:
        await c.run(shutil.rmtree, scratch, True)


def routes(r: Router) -> None:
    r.post("/build", build)
