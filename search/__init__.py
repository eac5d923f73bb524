"""Search algorithms that turn a policy and a verifier into proofs."""
