"""Errors of the user's making in eval runs (a bad flag, a run directory of another run)."""

from __future__ import annotations

from lean_prover.data.errors import LeanProverError


class EvalError(LeanProverError, ValueError):
    """One line that says what is wrong and what to do; the CLI exits with code 2."""
