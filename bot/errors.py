"""Errors a user can act on, with the exit status the CLI gives them.

Exit status convention: 0 success, 1 runtime failure, 2 usage, config or query error.
"""

from __future__ import annotations


class ChanwatchError(Exception):
    """Base of every error chanwatch reports as one line on stderr."""

    exit_code = 1


class UsageError(ChanwatchError):
    """Wrong command-line usage or input the user must fix (exit status 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file or environment is missing, malformed or invalid."""


class RuntimeFailure(ChanwatchError):
    """Something failed while running (network, database, Telegram): exit status 1."""

    exit_code = 1
