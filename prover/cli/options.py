"""Options shared by several commands."""

from __future__ import annotations

import typer

PathOption = typer.Option(None, "--path", help="Read the dataset from this .jsonl or .lean file.")
