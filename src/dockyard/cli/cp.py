"""``cp``: copy files and trees between a container and the host (docker's rules).

``cp CONTAINER:SRC DEST|-`` and ``cp SRC|- CONTAINER:DEST``; ``-`` is a tar stream on
stdin/stdout, ``SRC/.`` copies a directory's contents, ``-a`` keeps uid/gid, ``-L``
follows a symlink given as the source. The container side is handled by the engine,
which resolves every path inside the container's root.
"""

from __future__ import annotations

import os
import sys
import tarfile
import threading

import click

from dockyard.cli.context import engine
from dockyard.errors import InvalidArgument, NotFound

__all__ = ["register"]


def _split(arg: str) -> tuple[str, str]:
    """docker's splitCpArg: ``container:path``, or ("", local path)."""
    if arg.startswith("/") or arg.startswith(".") or ":" not in arg:
        return "", arg
    ref, _, path = arg.partition(":")
    return ref, path


@click.command("cp")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid "
              "information).")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in "
              "SRC_PATH.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress progress output.")
@click.argument("src")
@click.argument("dest")
def cp(archive: bool, follow_link: bool, quiet: bool, src: str, dest: str) -> None:
    """Copy files/folders between a container and the local filesystem."""
    src_ref, src_path = _split(src)
    dest_ref, dest_path = _split(dest)
    if src_ref and dest_ref:
        raise InvalidArgument("copying between containers is not supported")
    if not src_ref and not dest_ref:
        raise InvalidArgument("must specify at least one container source")
    if src_ref:
        _copy_from(src_ref, src_path or "/", dest_path, follow_link)
    else:
        _copy_to(src_path, dest_ref, dest_path or "/", follow_link, archive)


def _copy_from(ref: str, path: str, dest: str, follow: bool) -> None:
    from dockyard.volumes.archive import extract_tar
    from dockyard.volumes.cpplan import plan, split_contents

    eng = engine()
    if dest == "-":
        eng.copy_out(ref, path, sys.stdout.buffer, follow)
        return
    path, contents = split_contents(path)
    dest_abs = os.path.abspath(dest) + ("/" if dest.endswith(("/", "/.")) else "")
    kind = "dir" if os.path.isdir(dest_abs) else "file" if os.path.lexists(dest_abs) else ""
    base = os.path.basename(path.rstrip("/")) or "."
    opened: list[int] = []

    def choose(top: tarfile.TarInfo) -> tuple[int, tuple[str, str] | None]:
        p = plan(base, top.isdir(), contents, dest_abs, kind,
                 os.path.isdir(os.path.dirname(dest_abs.rstrip("/")) or "/"))
        opened.append(os.open(p.extract_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
        return opened[-1], p.rename

    # The archive streams through a pipe: a thread has the engine write what we extract.
    r, w = os.pipe()
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(w, "wb") as out:
                eng.copy_out(ref, path, out, follow)
        except BaseException as err:
            failed.append(err)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    try:
        with os.fdopen(r, "rb") as stream:
            extract_tar(stream, -1, owners=os.geteuid() == 0, choose=choose)
    except BaseException:
        writer.join()
        if failed and not isinstance(failed[0], BrokenPipeError):
            raise failed[0] from None  # the engine's error explains an empty stream
        raise
    finally:
        writer.join()
        for fd in opened:
            os.close(fd)
    if failed:
        raise failed[0]


def _copy_to(src: str, ref: str, dest: str, follow: bool, archive: bool) -> None:
    from dockyard.volumes.archive import write_tar
    from dockyard.volumes.cpplan import split_contents

    eng = engine()
    if src == "-":
        eng.copy_in(ref, dest, sys.stdin.buffer, owners=True)
        return
    path, contents = split_contents(src)
    path = os.path.abspath(path)
    if follow:
        path = os.path.realpath(path)
    if not os.path.lexists(path):
        raise NotFound(f"lstat {path}: no such file or directory")
    parent = os.open(os.path.dirname(path) or "/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    base = os.path.basename(path) or "."
    is_dir = os.path.isdir(path) and not os.path.islink(path)
    # The archive streams through a pipe: a thread writes what the engine extracts.
    r, w = os.pipe()
    failed: list[BaseException] = []

    def produce() -> None:
        try:
            with os.fdopen(w, "wb") as out:
                write_tar(parent, base, base, out)
        except BaseException as err:
            failed.append(err)

    writer = threading.Thread(target=produce, daemon=True)
    writer.start()
    try:
        with os.fdopen(r, "rb") as stream:
            eng.copy_in(ref, dest, stream, src_base=base, src_is_dir=is_dir,
                        contents_only=contents, owners=archive)
    finally:
        writer.join()
        os.close(parent)
    if failed and not isinstance(failed[0], BrokenPipeError):
        raise failed[0]


def register(group: click.Group) -> None:
    group.add_command(cp)
