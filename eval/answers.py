"""An answer a proof came with, compared with the benchmark's official one (PutnamBench).

A proof of `putnam_…` with the policy's `putnam_…_solution` shows the theorem holds for that
answer; it does not show the answer is the one asked for: an answer that restates the question
(the `sInf` of the very set in the statement) makes many theorems easy. So the answer is
compared with the official answer in Lean: equal (by `rfl`, `decide`, `norm_num`, or `simp`
pointwise), different (`≠` by `decide` or `norm_num`), or, where neither is proved, not
compared, and the report says which.
"""

from __future__ import annotations

from lean_prover.data.problem import Problem
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.verdict import Proved

MATCHES = "matches"
DIFFERS = "differs"
NOT_COMPARED = "not compared"

# The tactics each relation is tried with: `first | t₁ | t₂` runs the first that succeeds
# (leanprover/lean4 `src/Init/Tactics.lean`, `first`); `funext x`/`ext x` state function and set
# equality pointwise (`Init/Tactics.lean`, Mathlib `Mathlib/Tactic/Ext.lean`). The statements are
# `theorem NAME : ANSWER = (OFFICIAL) := by` over the problem's own context: checked as any proof.
_EQUAL = "first | rfl | decide | norm_num | (funext x; simp) | (ext x; simp)"
_DIFFERENT = "first | decide | norm_num"


async def compare_with_official(problem: Problem, answer: str, checker: Checker) -> str:
    """MATCHES, DIFFERS or NOT_COMPARED: `answer` (the term a proof of `problem` came with)
    against the problem's official answer, each relation proved as a theorem over the problem's
    context with the answer filled in, and certified as any proof."""
    if problem.answer is None or not problem.answer.official:
        return NOT_COMPARED
    filled = problem.with_answer(answer)
    name, official = problem.answer.name, problem.answer.official
    for relation, suffix, tactic, outcome in (("=", "matches", _EQUAL, MATCHES), ("≠", "differs", _DIFFERENT, DIFFERS)):
        theorem = f"{name}_{suffix}_official"
        statement = f"theorem {theorem} : {name} {relation} ({official}) := by\n"
        check = Problem(theorem, "", problem.header, "", statement, "", problem.source, context=filled.context,
                        answer=filled.answer)
        proof = f"  {tactic}\n"
        verdict = await checker.certify(check, proof, await checker.verify(check, proof))
        if isinstance(verdict, Proved):
            return outcome
    return NOT_COMPARED
