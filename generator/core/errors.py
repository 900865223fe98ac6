"""The few errors that end a command, each mapped to one exit code by the CLI."""

from __future__ import annotations


class LapseError(Exception):
    """An error the person running lapse must act on. Its message says how."""

    exit_code = 2


class ConfigError(LapseError):
    """Usage or configuration is wrong: bad flag, unreadable policy, not a lapse repository."""

    exit_code = 2


class ServiceError(LapseError):
    """An external service (GitHub, Google Cloud) failed, after retries."""

    exit_code = 3
