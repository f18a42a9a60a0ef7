"""The ``mmmtif`` command group and the ``mmmtif-gen`` shortcut.

Commands live in ``generator/cli/commands/<name>.py``; each defines ``command`` and registers it in
:data:`COMMANDS`. Heavy libraries are imported inside the commands, so ``mmmtif --help`` and light commands do not
pay for importing ``datasets``. User mistakes
(:class:`generator.common.errors.UserError`) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from typing import NoReturn

import click

from generator import __version__
from generator.common.errors import UserError
from generator.common.registry import Registry

#: Every subcommand, registered by its module in ``generator/cli/commands/`` (``COMMANDS.register`` after the
#: definition); running a command imports its own module only, listing them imports them all, and none imports
#: anything heavy at module level.
COMMANDS: Registry[click.Command] = Registry("command", package="generator.cli.commands",
                                            module_of=lambda name: name.replace("-", "_"))


class LazyGroup(click.Group):
    """A click group whose subcommands come from :data:`COMMANDS` (imported on first use)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return COMMANDS.names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return COMMANDS.find(cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _fail(ctx, _usage_message(exc), 2)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        # Subcommands parse their options inside this call, so their usage errors (unknown option, bad number)
        # arrive here too and are printed like any other user mistake.
        try:
            return super().invoke(ctx)
        except UserError as exc:
            _fail(ctx, str(exc), exc.exit_code)
        except click.UsageError as exc:
            _fail(ctx, _usage_message(exc), 2)
        except OSError as exc:
            # The machine, not the program: a full disk, a read-only or missing folder, a file where a folder is
            # expected. Writers leave previous files untouched (atomic writes), so one line says it all.
            if exc.errno not in _ENVIRONMENT_ERRORS:
                raise
            target = f" {exc.filename}" if exc.filename else ""
            _fail(ctx, f"cannot write or read{target}: {exc.strerror or exc}", 1)


_ENVIRONMENT_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR,
                                 errno.EISDIR, errno.ENAMETOOLONG, errno.ENOENT, errno.EEXIST, errno.EIO,
                                 errno.EFBIG, errno.EMFILE, errno.ELOOP})


def _usage_message(exc: click.UsageError) -> str:
    """click's usage error as one line, naming the command whose ``--help`` explains it."""
    message = " ".join(exc.format_message().split())
    command = exc.ctx.command_path if exc.ctx is not None else "mmmtif"
    return f"{message} (see '{command} --help')"


def _fail(ctx: click.Context, message: str, code: int) -> NoReturn:
    click.echo(f"mmmtif: error: {message}", err=True)
    ctx.exit(code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mmmt-if")
def cli() -> None:
    """Generate, validate, publish and score MMMT-IF-style benchmarks."""


def _exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM (``timeout``, ``kill``, a scheduler ending a job) into ``SystemExit`` in this process.

    Writers clean up their temporary files when an exception unwinds through them; the default SIGTERM action
    would kill the process before they could. Forked workers inherit the handler and simply exit, as the default
    action would make them.
    """
    main_pid = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != main_pid:
            os._exit(128 + signum)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main() -> None:
    """Entry point of ``mmmtif``."""
    _exit_cleanly_on_sigterm()
    cli(prog_name="mmmtif")


def gen_main() -> None:
    """Entry point of ``mmmtif-gen`` (the same as ``mmmtif gen``)."""
    _exit_cleanly_on_sigterm()
    sys.argv[1:1] = ["gen"]
    cli(prog_name="mmmtif")


if __name__ == "__main__":  # pragma: no cover
    main()
