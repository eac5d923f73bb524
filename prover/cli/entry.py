"""The `prover` script's entry point, kept free of heavy imports.

The command's modules take a second or more to import (typer, pydantic, the search and Lean
packages; torch and transformers for a model). A Ctrl-C in that time should end the command
as one at any later moment does: exit 130 and one line, no traceback. So this module imports
only the standard library, and imports the command inside the handler.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130
"""128 + SIGINT, the shell's code for a command ended by Ctrl-C."""


def main() -> None:
    try:
        from lean_prover.prover.cli.app import main as run_command

        run_command()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
