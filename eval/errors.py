"""Errors of the user's making in eval runs (a bad flag, a run directory of another run)."""

from __future__ import annotations


class EvalError(ValueError):
    """One line that says what is wrong and what to do; the CLI exits with code 2."""
