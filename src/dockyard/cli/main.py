"""The ``dockyard`` command: the root group, global options and error handling."""

from __future__ import annotations

import importlib
import sys

import click

from dockyard import __version__
from dockyard.cli.context import AppContext
from dockyard.cli.errors import exit_code_for
from dockyard.errors import DockyardError, ExecFailed
from dockyard.settings import Roots

__all__ = ["cli", "main"]

# Modules that add commands with ``register(group)``; imported when the command starts.
COMMAND_MODULES = [
    "dockyard.cli.images",
    "dockyard.cli.containers",
    "dockyard.cli.system",
    "dockyard.cli.build",
    "dockyard.cli.registry",
    "dockyard.cli.networks",
    "dockyard.cli.volumes",
    "dockyard.cli.cp",
    "dockyard.cli.ops",
    "dockyard.cli.serve",
]


# The modules that add each top-level command (or its subcommands), so that a command
# imports only what it needs (start-up time); other names are looked for everywhere.
COMMAND_HOMES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(["images", "history", "tag", "rmi", "save", "load", "import"],
                    ("dockyard.cli.images",)),
    "image": ("dockyard.cli.images", "dockyard.cli.build"),  # build adds ``image build``
    **dict.fromkeys(["version", "info"], ("dockyard.cli.system",)),
    "system": ("dockyard.cli.system", "dockyard.cli.ops"),  # ops adds boot and metrics
    **dict.fromkeys(["ps", "logs", "inspect"], ("dockyard.cli.listing",)),
    **dict.fromkeys(["run", "create", "start", "attach"], ("dockyard.cli.run",)),
    **dict.fromkeys(["exec", "commit"], ("dockyard.cli.execs",)),
    "build": ("dockyard.cli.build",),
    "network": ("dockyard.cli.networks",),
    "volume": ("dockyard.cli.volumes",),
    "cp": ("dockyard.cli.cp",),
    **dict.fromkeys(["events", "stats"], ("dockyard.cli.ops",)),
    "serve": ("dockyard.cli.serve",),
    **dict.fromkeys(["pull", "push", "login", "logout", "registry"],
                    ("dockyard.cli.registry",)),
}
_loaded: set[str] = set()


def _load(name: str) -> None:
    if name in _loaded:
        return
    _loaded.add(name)
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:  # a real import error inside the module
            raise
        return
    module.register(cli)


class LazyGroup(click.Group):
    """The root group: loads a command's module when the command is asked for."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            for module in COMMAND_HOMES.get(cmd_name, ("dockyard.cli.containers",)):
                _load(module)
        if cmd_name not in self.commands:
            _register_commands()
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        _register_commands()
        return super().list_commands(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", envvar="DOCKYARD_ROOT", help="Persistent state directory.")
@click.option("--run-root", envvar="DOCKYARD_RUN_ROOT", help="Runtime state directory.")
@click.option("-D", "--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(__version__, "-v", "--version", message="Dockyard version %(version)s",
                      help="Print version information and quit.")
@click.pass_context
def cli(ctx: click.Context, root: str | None, run_root: str | None, debug: bool) -> None:
    """A Docker-compatible container engine."""
    ctx.obj = AppContext(Roots.from_env(root, run_root), debug)


def _register_commands() -> None:
    """Load every command module (for help and unknown names)."""
    for name in COMMAND_MODULES:
        _load(name)


def _is_missing_argument(err: click.UsageError) -> bool:
    return isinstance(err, click.MissingParameter) and isinstance(err.param, click.Argument)


def _usage_message(err: click.UsageError) -> str:
    """Docker's words for flag errors where they differ from click's."""
    if isinstance(err, click.NoSuchOption):
        name = err.option_name
        if name.startswith("--"):
            return f"unknown flag: {name}"
        return f"unknown shorthand flag: {name[1:2]!r} in {name}"
    return err.format_message()


# Commands whose engine errors exit 125/126/127 like ``docker run``; the others exit 1.
RUN_LIKE = {"run", "create"}
_GLOBAL_WITH_VALUE = {"--root", "--run-root"}


def _verb(argv: list[str]) -> str:
    """The command word in ``argv`` (``container run`` → ``run``)."""
    words: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _GLOBAL_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
            if arg not in ("container", "image", "system"):
                break
    return words[-1] if words else ""


def main(argv: list[str] | None = None) -> int:
    """Run the command; errors become one line on stderr and Docker's exit code."""
    args = sys.argv[1:] if argv is None else argv
    try:
        # Without standalone mode click returns ``ctx.exit(n)``'s code, or the command's
        # return value (None for ours).
        code = cli.main(args=args, prog_name="dockyard", standalone_mode=False)
    except DockyardError as err:
        if "-D" in args or "--debug" in args:
            import traceback

            traceback.print_exc()
        click.echo(f"Error: {err}", err=True)
        verb = _verb(args)
        if verb in RUN_LIKE or (verb == "exec" and isinstance(err, ExecFailed)):
            return exit_code_for(err)
        return 1
    except click.exceptions.Exit as err:
        return int(err.exit_code)
    except click.UsageError as err:
        command = err.ctx.command_path if err.ctx is not None else "dockyard"
        if _is_missing_argument(err):  # docker: a wrong argument count exits 1
            click.echo(f'"{command}" requires at least 1 argument.', err=True)
            click.echo(f"See '{command} --help'.", err=True)
            return 1
        click.echo(f"Error: {_usage_message(err)}", err=True)
        click.echo(f"See '{command} --help'.", err=True)
        return 125  # docker's exit code for a bad flag
    except click.ClickException as err:
        click.echo(f"Error: {err.format_message()}", err=True)
        return 125
    except click.exceptions.Abort:
        return 130
    except BrokenPipeError:  # e.g. ``dockyard ps | head -1``
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
