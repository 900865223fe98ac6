"""The `lapse` entry point: the command group, and the one place errors become exit codes.

Commands live in `generator.commands`, one module each, imported only when named, so that
`lapse validate` and the pre-commit hooks start without loading PyGithub or Google's clients.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence

import click

from generator.core.errors import LapseError

COMMANDS = {
    "new": "generator.commands.new:new",
    "validate": "generator.commands.validate:validate",
    "render": "generator.commands.render:render",
    "simulate": "generator.commands.simulate:simulate",
    "codeowners": "generator.commands.codeowners:codeowners",
    "roles": "generator.commands.roles:roles",
    "verify-approvals": "generator.commands.verify_approvals:verify_approvals",
    "verify-plan": "generator.commands.verify_plan:verify_plan",
    "expire": "generator.commands.expire:expire",
    "drift": "generator.commands.drift:drift",
    "review": "generator.commands.review:review",
    "doctor": "generator.commands.doctor:doctor",
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is run or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lapse")
def cli() -> None:
    """Temporary, PCI DSS compliant production access on Google Cloud through pull requests."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one place maps errors to exit codes and keeps tracebacks from users."""
    try:
        cli.main(
            args=list(argv) if argv is not None else None, prog_name="lapse", standalone_mode=False
        )
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 2
    except LapseError as exc:
        click.echo(f"lapse: error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as done:
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    except Exception as exc:
        if os.environ.get("LAPSE_DEBUG"):
            raise
        click.echo(
            f"lapse: internal error: {type(exc).__name__}: {exc} (set LAPSE_DEBUG=1 for details)",
            err=True,
        )
        return 2
    return 0


def run() -> None:
    raise SystemExit(main())
