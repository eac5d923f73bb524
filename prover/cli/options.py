"""Options shared by several commands."""

from __future__ import annotations

import typer

from lean_prover.search.config import ALGORITHMS


PathOption = typer.Option(None, "--path", help="Read the dataset from this .jsonl or .lean file.")
DatasetOption = typer.Option("minif2f", "--dataset", help="A dataset name, or a .jsonl or .lean file.")
SplitOption = typer.Option(None, "--split", help="valid or test (default: all splits).")
AlgorithmOption = typer.Option(None, "--algorithm", help=f"One of {', '.join(ALGORITHMS)}.")
ModelOption = typer.Option(None, "--model", help="Hub id or local folder (policy.model).")
ForceOption = typer.Option(False, "--force", help="Go on with a run directory made with other settings.")
