"""The root of every error lapse raises, each kind mapped to one exit code by the CLI.

A stage's own error derives from one of these and says how the person running lapse can
act; `generator.cli.main` prints it and ends with its `exit_code`, so no command translates
errors by hand. Anything else is a programming error: it passes every boundary (see
`PROGRAMMING_ERRORS`) and is shown as an internal error, in full with LAPSE_DEBUG set.
"""

from __future__ import annotations

import os
import sys
import traceback


class LapseError(Exception):
    """An error the person running lapse must act on. Its message says how."""

    exit_code = 2
    shown = False  # True: what went wrong is already on screen; only the exit code is left


class ConfigError(LapseError):
    """Usage or configuration is wrong: bad flag, unreadable policy, not a lapse repository."""

    exit_code = 2


class ServiceError(LapseError):
    """An external service (GitHub, Google Cloud) failed, after retries."""

    exit_code = 3


class ProblemsShown(LapseError):
    """The command was given files with problems, shown where they are: nothing more to say."""

    exit_code = 1
    shown = True


# Errors that mean lapse's own code is wrong, never that a service or a file is: a boundary
# that turns failures into values (a retry, an INCOMPLETE review) lets these through.
PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    AssertionError,
    AttributeError,
    NameError,
    NotImplementedError,
    TypeError,
)


def debugging() -> bool:
    return bool(os.environ.get("LAPSE_DEBUG"))


def show_when_debugging(exc: BaseException) -> None:
    """With LAPSE_DEBUG set, the traceback of an error a boundary turned into a message."""
    if debugging():
        traceback.print_exception(exc, file=sys.stderr)
