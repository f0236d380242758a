"""What every command's parser shares: `UsageError`, an argparse parser that raises it (one line, exit 2), and the
options several commands take alike."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """A command-line problem that the user fixes; reported as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors raised as `UsageError` (one line) instead of usage + message + exit."""

    def error(self, message: str) -> None:
        """Raise `UsageError("PROG: error: MESSAGE")` where argparse would print the usage and exit."""
        raise UsageError(f"{self.prog}: error: {message}")


# `--trust-checkpoint`, as train, evaluate, convert, predict and export spell it.
TRUST_CHECKPOINT = dict(action="store_true", help="read a checkpoint that is not weights-only (written by an older "
                        "e3dlib, or a foreign file) with full unpickling: it can run code, so only for files you trust")
