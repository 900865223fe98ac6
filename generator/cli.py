"""The `lapse` entry point: the command group, and the one place errors become exit codes.

Commands live in `generator.commands`, one module each, imported only when named, so that
`lapse validate` and the pre-commit hooks start without loading PyGithub or Google's clients.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from generator.commands import options
from generator.core.errors import LapseError, debugging, show_when_debugging

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
    "status": "generator.commands.status:status",
    "withdraw": "generator.commands.withdraw:withdraw",
    "extend": "generator.commands.extend:extend",
    "notify": "generator.commands.notify:notify",
    "explain": "generator.commands.explain:explain",
    "emergency": "generator.commands.emergency:emergency",
    "recertify": "generator.commands.recertify:recertify",
    "evidence": "generator.commands.evidence:evidence",
    "init": "generator.commands.init:init",
    "watch": "generator.commands.watch:watch",
    "changes": "generator.commands.changes:changes",
}

ENVIRONMENT = """\b
Environment variables:
  NO_COLOR                        any value: no colour (also off in CI and when piped)
  CI, GITHUB_ACTIONS              set by CI: no colour; GitHub annotations by default
  GITHUB_STEP_SUMMARY             file the job summary is appended to
  GITHUB_TOKEN, GITHUB_REPOSITORY token and owner/name for GitHub (pull requests, issues)
  GITHUB_API_URL                  GitHub API [default: https://api.github.com]
  GOOGLE_APPLICATION_CREDENTIALS  key file for Google Cloud, else the gcloud login
  GOOGLE_CLOUD_PROJECT            project billed for Logging API reads
  TZ                              time zone for local times shown next to UTC
  COLUMNS                         width tables fold to [default: the terminal's; piped: none]
  LAPSE_DEBUG                     any value: show tracebacks of internal errors
"""
CREDENTIALS_HELP = (
    "no Google Cloud credentials were found: run `gcloud auth application-default login` "
    "(in CI, authenticate the job with google-github-actions/auth, or set "
    "GOOGLE_APPLICATION_CREDENTIALS to a key file)"
)


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
        return options.with_verbosity(command)


@options.with_verbosity
@click.group(
    cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=ENVIRONMENT
)
@click.version_option(package_name="lapse")
@click.option(
    "-C",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Run as if lapse was started in this folder (like git -C).",
)
def cli(directory: Path | None) -> None:
    """Temporary, PCI DSS compliant production access on Google Cloud through pull requests.

    Run from anywhere inside the repository: lapse finds it upwards, as git does.
    """
    if directory is not None:
        os.chdir(directory)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: a command returns its exit code; errors become theirs here, the one place,
    and tracebacks are kept from users unless LAPSE_DEBUG is set."""
    try:
        code = cli.main(
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
        if not exc.shown:
            click.echo(f"lapse: error: {exc}", err=True)
            show_when_debugging(exc)
        return exc.exit_code
    except SystemExit as done:
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    except Exception as exc:
        if _missing_credentials(exc):
            click.echo(f"lapse: error: {CREDENTIALS_HELP}", err=True)
            return 2
        if debugging():
            raise
        click.echo(
            f"lapse: internal error: {type(exc).__name__}: {exc} (set LAPSE_DEBUG=1 for details)",
            err=True,
        )
        return 2
    return code if isinstance(code, int) else 0  # a group shown its help returns None


def _missing_credentials(exc: BaseException) -> bool:
    """google.auth's DefaultCredentialsError, here or as the cause, without importing google."""
    seen: BaseException | None = exc
    visited: set[int] = set()
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        if any(
            kind.__name__ == "DefaultCredentialsError" and kind.__module__.startswith("google.auth")
            for kind in type(seen).__mro__
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def run() -> None:
    """The `lapse` command: `main`, then out at once.

    At its end a run holds what it read (a review's tallies, every module it imported); an
    interpreter's exit tears that down object by object, some 0.1 s a user waits for and
    nothing needs. So the exit handlers run here (temporary folders removed, logs written),
    the output is flushed, and the process ends. Under a profiler or a debugger, which read the
    run after it ends, the interpreter exits as usual."""
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # A reader gone, or a stream closed: nothing is left to keep.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
