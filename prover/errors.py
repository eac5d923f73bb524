"""The prover package's exception root (see `data.errors` for the whole hierarchy)."""

from lean_prover.data.errors import LeanProverError


class ProverError(LeanProverError):
    """Base of the errors of the policy, prompts, training and the CLI's configuration."""
