"""Benchmarks, Lean source files as problems, and the store of verified proofs.

This package is the leaf of the dependency graph: it imports none of the others.
"""

from lean_prover.data.errors import DataError
from lean_prover.data.problem import Problem

__all__ = ["DataError", "Problem"]
