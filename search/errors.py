"""The search package's exception root (see `data.errors` for the whole hierarchy)."""

from lean_prover.data.errors import LeanProverError


class SearchError(LeanProverError):
    """Base of the search package's errors (an unknown algorithm, a sketch that cannot be used)."""
