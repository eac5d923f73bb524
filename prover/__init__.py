"""The policy side of the prover: prompts, generation backends, the agent, and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lean-prover")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
