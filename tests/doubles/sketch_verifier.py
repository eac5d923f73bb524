"""A verifier for decomposition tests, with a toy model of `have` sketches. Tests only.

A proof is accepted when the static guard passes and no line starts with `bad`. A sketch
(`check_sketch`) may hold `have NAME : STMT := by sorry` steps: for each, the verifier
reports Lean's goal there, as Lean prints it: the theorem's binders (read from `(names : type)`
groups of the statement), the earlier steps as hypotheses, then `⊢ STMT`.
"""

from __future__ import annotations

import re

from lean_prover.data.problem import Problem
from lean_prover.lean_env.guard import GuardPolicy, check_proof
from lean_prover.lean_env.protocol import Message, Pos, Sorry
from lean_prover.lean_env.verdict import GuardRejected, Incomplete, LeanErrors, LeanRun, Proved, Verdict
from tests.doubles.checker_double import CheckerDouble

_BINDER = re.compile(r"\(([^():]+?) : ([^()]+?)\)")
_HAVE = re.compile(r"^(?P<indent>\s*)have (?P<name>\S+) : (?P<stmt>.+?) := (?:by )?(?P<sorry>sorry)?\s*$")


class SketchVerifier(CheckerDouble):
    def __init__(self) -> None:
        self.checked: list[tuple[str, str]] = []
        """(problem name, text) of every `verify` call."""
        self.sketches: list[tuple[str, str]] = []

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = "") -> Verdict:
        self.checked.append((problem.name, proof))
        return self._judge(proof, GuardPolicy())

    async def check_sketch(self, problem: Problem, sketch: str, restated_statement: str | None = None, preamble: str = "") -> Verdict:
        self.sketches.append((problem.name, sketch))
        verdict = self._judge(sketch, GuardPolicy(allow_sorry=True))
        if not isinstance(verdict, Proved) or "sorry" not in sketch:
            return verdict
        first_line = (problem.context + problem.formal_statement).count("\n") + 1
        hypotheses = [f"{names} : {kind}" for names, kind in _BINDER.findall(problem.formal_statement)]
        sorries: list[Sorry] = []
        one_line_steps = re.sub(r":= by\n\s*sorry", ":= by sorry", sketch)  # line numbers: order only
        for number, line in enumerate(one_line_steps.split("\n")):
            have = _HAVE.match(line)
            if have is None:
                continue
            if have["sorry"]:
                goal = "\n".join([*hypotheses, f"⊢ {have['stmt']}"])
                pos = Pos(line=first_line + number, column=line.index("sorry"))
                sorries.append(Sorry(goal=goal, proofState=len(sorries), pos=pos, endPos=pos))
            hypotheses.append(f"{have['name']} : {have['stmt']}")
        return Incomplete(LeanRun(sorries=tuple(sorries)))

    @staticmethod
    def _judge(text: str, policy: GuardPolicy) -> Verdict:
        violations = check_proof(text, policy)
        if violations:
            return GuardRejected(tuple(violations))
        for number, line in enumerate(text.split("\n")):
            if line.strip().startswith("bad"):
                error = Message(severity="error", pos=Pos(line=number + 1, column=0), data="tactic failed")
                return LeanErrors(LeanRun(messages=(error,)), error, None)
        return Proved(LeanRun(), ())

