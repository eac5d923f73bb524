"""Training the policy from Lean's verdicts: GRPO (RLPAF) and expert iteration (SFT)."""
