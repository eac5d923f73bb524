"""The search package's exception root (see `data.errors` for the whole hierarchy)."""

from lean_prover.data.errors import LeanProverError


class SearchError(LeanProverError):
    """Base of the search package's errors (an unknown algorithm, a sketch that cannot be used)."""


class SearchSettingError(SearchError, ValueError):
    """A [search] setting with a value it cannot have; the message names it. Bad input: exit 2."""
