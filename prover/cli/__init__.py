"""The `prover` command line."""
