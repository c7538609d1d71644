"""``exec`` and ``commit``: a process in a running container; an image from one."""

from __future__ import annotations

from typing import Any

import click

from dockyard.cli import opts
from dockyard.cli.context import engine
from dockyard.cli.flagtypes import Parsed

__all__ = ["build_exec_config", "commit", "exec_cmd", "register"]


def build_exec_config(command: tuple[str, ...], detach: bool, interactive: bool, tty: bool,
                      env: list[str], user: str, workdir: str, privileged: bool,
                      detach_keys: str | None) -> dict[str, Any]:
    """The Engine API's ExecConfig, as ``docker exec`` builds it."""
    config: dict[str, Any] = {
        "User": user, "Privileged": privileged, "Tty": tty,
        "AttachStdin": interactive and not detach, "AttachStderr": not detach,
        "AttachStdout": not detach, "Detach": detach, "DetachKeys": detach_keys or "",
        "Env": env or None, "WorkingDir": workdir, "Cmd": list(command),
    }
    return config


@click.command("exec", context_settings={"allow_interspersed_args": False,
                                         "help_option_names": ["--help"]})
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the "
              "background.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching.")
@click.option("-e", "--env", multiple=True, type=Parsed(opts.parse_env),
              help="Set environment variables.")
@click.option("--env-file", multiple=True, help="Read in a file of environment variables.")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not "
              "attached.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-u", "--user", default="", help="Username or UID (format: "
              "<name|uid>[:<group|gid>]).")
@click.option("-w", "--workdir", default="", help="Working directory inside the container.")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_cmd(ctx: click.Context, /, detach: bool, detach_keys: str | None,
             env: tuple[str, ...], env_file: tuple[str, ...], interactive: bool,
             privileged: bool, tty: bool, user: str, workdir: str, container: str,
             command: tuple[str, ...]) -> None:
    """Execute a command in a running container."""
    environment = [*opts.read_env_files(env_file), *env]
    config = build_exec_config(command, detach, interactive, tty, environment, user,
                               workdir, privileged, detach_keys)
    eng = engine()
    exec_id = eng.exec_create(container, config)
    code = eng.exec_start(exec_id, detach=detach)
    ctx.exit(0 if detach else code)


@click.command("commit")
@click.option("-a", "--author", default="", help='Author (e.g., "John Hannibal Smith '
              '<hannibal@a-team.com>").')
@click.option("-c", "--change", "changes", multiple=True,
              help="Apply Dockerfile instruction to the created image.")
@click.option("-m", "--message", default="", help="Commit message.")
@click.option("-p", "--pause", type=click.BOOL, default=True, is_flag=False, flag_value=True,
              help="Pause container during commit (--pause=false to not).")
@click.argument("container")
@click.argument("repository", required=False, default="")
def commit(author: str, changes: tuple[str, ...], message: str, pause: bool, container: str,
           repository: str) -> None:
    """Create a new image from a container's changes."""
    click.echo(engine().commit(container, repository, list(changes), message, author, pause))


def register(group: click.Group) -> None:
    """Add exec and commit."""
    group.add_command(exec_cmd)
    group.add_command(commit)
