"""What every command's parser shares: `UsageError` and an argparse parser that raises it (one line, exit 2)."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """A command-line problem that the user fixes; reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors raised as `UsageError` (one line) instead of usage + message + exit."""

    def error(self, message: str) -> None:
        """Raise `UsageError("PROG: error: MESSAGE")` where argparse would print the usage and exit."""
        raise UsageError(f"{self.prog}: error: {message}")
