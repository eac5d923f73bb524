import Mathlib

/-- The quickstart's theorem: `prover prove examples/quickstart.lean` fills its `sorry`. -/
theorem two_add_two : (2 : ℕ) + 2 = 4 := by
  sorry
