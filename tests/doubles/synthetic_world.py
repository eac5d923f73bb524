"""A synthetic family of problems with a scripted policy and a toy Lean that follow it, where
each family needs one idea: tree search (`deep`), a fix from Lean's error (`typo`), or a
decomposition into lemmas (`split`). For the hybrid search's tests and benchmark; tests only.

- `deep_k`: `theorem deep_k : Deep_k := by` is proved by `step1` ... `stepL` in turn. The
  policy continues from wherever its prompt's proof stops and gets each step right with
  probability `step`; the first wrong step (`slip`) is an error. Resuming from the tree's
  nodes pays; sampling whole proofs needs every step right at once.
- `typo_k`: proved by `exact typo_k_lemma`; the policy almost always writes
  `exact typo_k_lema`, and Lean says `unknown identifier 'typo_k_lema'`. Shown that error in a
  revision prompt, it writes the right name with probability `fix`.
- `split_k`: `A_k ∧ B_k ∧ C_k`, proved in one line by `exact ⟨a_k, b_k, c_k⟩` (each part right
  with probability `one_line`), or by three `have`s. Asked for a sketch, the policy writes
  `have ha : A_k := by sorry` (and hb, hc) and `exact ⟨ha, hb, hc⟩`; Lean reports each sorry's
  goal; a lemma `... : B_k := by` is proved by `exact b_k` (right with probability `part`).
The toy Lean gives a tactic trace (the state after every line) and sorries with goals, like
the REPL; its verdicts go through the real guard first.
"""

from __future__ import annotations

import random
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

from lean_prover.data.problem import Problem
from lean_prover.lean_env.guard import GuardPolicy, check_candidate
from lean_prover.lean_env.protocol import Message, Pos, Sorry
from lean_prover.lean_env.tactic_mode import GoalState, TacticFailed, TacticOutcome
from lean_prover.lean_env.verdict import GuardRejected, Incomplete, LeanErrors, LeanRun, Proved, TacticStep, Verdict
from lean_prover.lean_env.repl_checker import position_offset
from lean_prover.prover.policy.base import Completion, GenerationRequest, PolicyUsage
from lean_prover.prover.prompts import SKETCH_REQUEST
from tests.doubles.checker_double import CheckerDouble

FAMILIES = ("deep", "typo", "split")
DEEP_STEPS = 5


def problems(per_family: int) -> list[Problem]:
    """`per_family` problems of each family, named `deep_0`, `typo_0`, `split_0`, ..."""
    made = []
    for k in range(per_family):
        for family in FAMILIES:
            target = {"deep": f"Deep_{k}", "typo": f"Typo_{k}", "split": f"A_{k} ∧ B_{k} ∧ C_{k}"}[family]
            name = f"{family}_{k}"
            made.append(Problem(name, "synthetic", "", "", f"theorem {name} : {target} := by\n", f"⊢ {target}", "synthetic"))
    return made


def target_of(statement: str) -> str:
    """The statement's type (after the last top-level `:` before `:= by`)."""
    return statement.split(":=")[0].rsplit(":", 1)[1].strip()


# ------------------------------------------------------------------ policy


@dataclass
class Odds:
    step: float = 0.5
    """deep: each step right."""
    typo: float = 0.95
    """typo: a first attempt misspells the lemma."""
    fix: float = 0.9
    """typo: a revision shown the error writes the right name."""
    part: float = 0.3
    """split: a lemma's proof right."""
    one_line: float = 0.3
    """split: each part of a one-line proof of the whole right."""


class SyntheticPolicy:
    """Reads its prompt as a model would: which theorem, whether a sketch or a revision is asked
    for, and where the proof so far stops."""

    name = "synthetic"

    def __init__(self, odds: Odds = Odds()) -> None:
        self.odds = odds
        self.usage = PolicyUsage()
        self.prompts: list[str] = []
        self.requests: list[GenerationRequest] = []

    async def generate(self, requests: list[GenerationRequest]) -> list[list[Completion]]:
        results = []
        for request in requests:
            assert isinstance(request.prompt, str), "the synthetic world speaks completion formats"
            self.prompts.append(request.prompt)
            self.requests.append(request)
            rng = random.Random(request.seed)
            texts = [self._write(request.prompt, rng) + "\n```" for _ in range(request.n)]
            completions = [Completion(t, max(1, len(t.split())), "stop") for t in texts]
            self.usage.samples += len(completions)
            self.usage.generated_tokens += sum(c.token_count for c in completions)
            results.append(completions)
        return results

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        pass

    def _write(self, prompt: str, rng: random.Random) -> str:
        statement = prompt[prompt.rindex("theorem ") :]
        head, _, so_far = statement.partition(":= by\n")
        name, target = head.split()[1], target_of(head + ":=")
        so_far = re.sub(r"/- tactic state:.*?-/\n", "", so_far, flags=re.S)
        odds = self.odds
        if name.startswith("deep"):
            done = so_far.count("step")
            lines = []
            for i in range(done + 1, DEEP_STEPS + 1):
                if rng.random() >= odds.step:
                    lines.append("  slip")
                    break
                lines.append(f"  step{i}")
            return "\n".join(lines)
        if name.startswith("typo"):
            k = name.split("_")[1]
            revising = "does not compile" in prompt and f"unknown identifier 'typo_{k}_lema'" in prompt
            right = rng.random() < odds.fix if revising else rng.random() >= odds.typo
            return f"  exact typo_{k}_lemma" if right else f"  exact typo_{k}_lema"
        if SKETCH_REQUEST in prompt and name.startswith("split"):
            k = name.split("_")[1]
            return "\n".join([f"  have h{p} : {p.upper()}_{k} := by sorry" for p in "abc"] + ["  exact ⟨ha, hb, hc⟩"])
        k = target.split("_")[-1].split()[0]
        if target.count("∧"):  # the whole conjunction in one line
            parts = [f"{p}_{k}" if rng.random() < odds.one_line else "oops" for p in "abc"]
            return f"  exact ⟨{', '.join(parts)}⟩"
        # a lemma: one part
        return f"  exact {target[0].lower()}_{k}" if rng.random() < odds.part else "  exact oops"


# ------------------------------------------------------------------ toy Lean


class ToyLean(CheckerDouble):
    """The Checker a search needs (verify, check_sketch, tactic_session)."""

    def __init__(self) -> None:
        self.checked = 0

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = "") -> Verdict:
        return self._check(problem, proof, preamble, GuardPolicy())

    async def check_sketch(
        self, problem: Problem, sketch: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        return self._check(problem, sketch, preamble, GuardPolicy(allow_sorry=True))

    @asynccontextmanager
    async def tactic_session(self, problem: Problem) -> AsyncIterator[_Session]:
        yield _Session(f"⊢ {target_of(problem.formal_statement)}")

    def _check(self, problem: Problem, proof: str, preamble: str, policy: GuardPolicy) -> Verdict:
        self.checked += 1
        violations = check_candidate(problem.formal_statement, proof, preamble, policy)
        if violations:
            return GuardRejected(tuple(violations))
        prefix = problem.context + problem.formal_statement
        first_line = prefix.count("\n") + 1
        run = _Run(problem.name, target_of(problem.formal_statement))
        lines = proof.split("\n")
        number = 0
        while number < len(lines) and run.error is None and not run.finished:
            line = lines[number]
            block_end = number + 1
            if line.strip().startswith("have") and line.rstrip().endswith(":= by"):
                while block_end < len(lines) and lines[block_end].startswith("    "):
                    block_end += 1  # the `have`'s own proof, indented under it
            if line.strip():
                run.tactic(line, lines[number + 1 : block_end], first_line + number, first_line + block_end - 1,
                           len(lines[block_end - 1].rstrip()))
            number = block_end
        if run.error is not None:
            return LeanErrors(LeanRun(messages=(run.error,), tactics=tuple(run.steps)), run.error,
                              position_offset(prefix + proof, run.error.pos) - len(prefix))
        if run.finished and not run.sorries:
            return Proved(LeanRun(tactics=tuple(run.steps)), ())
        if run.finished:
            return Incomplete(LeanRun(sorries=tuple(run.sorries), tactics=tuple(run.steps)))
        unsolved = Message(severity="error", pos=Pos(line=1, column=0), data=f"unsolved goals\n{run.state}")
        return LeanErrors(LeanRun(messages=(unsolved,), tactics=tuple(run.steps)), unsolved, None)


class _Run:
    """One proof's run through the toy Lean: the state, the trace, the first error."""

    def __init__(self, name: str, target: str) -> None:
        self.name, self.target = name, target
        self.hypotheses: list[str] = []
        self.done_steps = 0
        self.finished = False
        self.error: Message | None = None
        self.steps: list[TacticStep] = []
        self.sorries: list[Sorry] = []

    @property
    def state(self) -> str:
        if self.name.startswith("deep") and self.done_steps:
            return f"⊢ {self.target} at {self.done_steps}"
        return "\n".join(self.hypotheses + [f"⊢ {self.target}"])

    def tactic(self, line: str, block: list[str], line_number: int, end_line: int, end_column: int) -> None:
        tactic = line.strip()
        column = len(line) - len(line.lstrip())
        before = self.state
        pos, end = Pos(line=line_number, column=column), Pos(line=end_line, column=end_column)
        if not self._apply(tactic, block, pos):
            self.error = self.error or Message(severity="error", pos=pos, end_pos=end, data=f"tactic '{tactic}' failed")
            self.steps.append(TacticStep(tactic, pos, end, before, None, len(self.steps)))
            return
        self.steps.append(TacticStep(tactic, pos, end, before, "" if self.finished else self.state, len(self.steps)))

    def _apply(self, tactic: str, block: list[str], pos: Pos) -> bool:
        k = self.name.split("_")[1]
        if self.name.startswith("deep"):
            if tactic != f"step{self.done_steps + 1}":
                return False
            self.done_steps += 1
            self.finished = self.done_steps == DEEP_STEPS
            return True
        if self.name.startswith("typo"):
            if tactic.startswith("exact ") and tactic != f"exact typo_{k}_lemma":
                self.error = Message(severity="error", pos=pos, data=f"unknown identifier '{tactic[6:]}'")
                return False
            self.finished = tactic == f"exact typo_{k}_lemma"
            return self.finished
        have = re.fullmatch(r"have (\w+) : (\w+) := by( sorry)?", tactic)
        if have is not None:
            name, claim, sorry = have.groups()
            if sorry:
                self.sorries.append(Sorry(goal=self.state.replace(f"⊢ {self.target}", f"⊢ {claim}"),
                                          pos=Pos(line=pos.line, column=pos.column + len(tactic) - 5)))
            elif [b.strip() for b in block] != [f"exact {claim[0].lower()}_{k}"]:
                return False
            self.hypotheses.append(f"{name} : {claim}")
            return True
        if "∧" in self.target:
            names = {h.split(" : ")[1]: h.split(" : ")[0] for h in self.hypotheses}
            by_haves = "exact ⟨" + ", ".join(names.get(f"{p}_{k}", "?") for p in "ABC") + "⟩"
            self.finished = tactic in (by_haves, f"exact ⟨a_{k}, b_{k}, c_{k}⟩")
            return self.finished
        self.finished = tactic == f"exact {self.target[0].lower()}_{k}"  # a lemma: one part
        return self.finished


class _Session:
    """Tactic mode, for the root's state only (the toy trace leaves no state open)."""

    def __init__(self, goal: str) -> None:
        self.goal = goal

    async def start(self) -> GoalState:
        return GoalState(0, (self.goal,))

    async def run_tactic(self, state: GoalState, tactic: str) -> TacticOutcome:
        return TacticFailed("the synthetic world has no tactic mode")
