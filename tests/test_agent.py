"""The Prover front door: policy + prompt format + verifier, with doubles for policy and REPL."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from lean_prover.data.problem import Problem
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.verdict import GuardRejected, LeanErrors, Proved
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from lean_prover.prover.agent import Prover, load_proposer, load_prover
from lean_prover.prover.policy.config import PolicyConfig
from tests.conftest import scripted_settings
from tests.doubles.scripted_policy import ScriptedPolicy

PROBLEM = Problem("demo", "test", "import Mathlib\n", "", "theorem demo (x : ℕ) (h : x = 2) : x + x = 4 := by\n",
                  "x : ℕ\nh : x = 2\n⊢ x + x = 4", "test")


def prover_with(outputs: list[str], **settings: Any) -> Prover:
    verifier = ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy())
    return Prover(ScriptedPolicy(outputs, by_seed=False), PolicyConfig(**settings), verifier)


def test_attempts_are_sampled_extracted_and_checked() -> None:
    prover = prover_with(["  subst h\n  norm_num\n```\njunk", "  FAIL\n```", "  sorry\n```", "```"])

    async def run() -> list:
        try:
            return await prover.attempt(PROBLEM, 4)
        finally:
            await prover.close()

    attempts = asyncio.run(run())
    assert [type(a.verdict) for a in attempts] == [Proved, LeanErrors, GuardRejected, GuardRejected]
    assert attempts[0].proposal.extraction.proof == "  subst h\n  norm_num\n"
    assert attempts[3].verdict.violations[0].rule == "no-proof"
    assert isinstance(prover.policy, ScriptedPolicy)
    (request,) = prover.policy.requests  # one request for n = 4
    assert request.n == 4 and request.stop == ("```",)
    assert request.prompt == prover.prompt(PROBLEM)


def test_chat_formats_hand_the_restated_statement_to_the_guard() -> None:
    changed = "```lean4\ntheorem demo (x : ℕ) : x + x = 4 := by\n  omega\n```"
    prover = prover_with([changed], prompt_format="deepseek-v2")

    async def run() -> list:
        try:
            return await prover.attempt(PROBLEM, 1)
        finally:
            await prover.close()

    (attempt,) = asyncio.run(run())
    assert isinstance(attempt.verdict, GuardRejected)
    assert attempt.verdict.violations[0].rule == "statement-changed"
    assert isinstance(prover.verifier, ReplChecker) and prover.verifier.pool.counters.processes_started == 0


def test_seeds_are_derived_and_repeat_across_runs() -> None:
    first, second = prover_with(["x"], seed=11), prover_with(["x"], seed=11)
    seeds = [first.next_seed(PROBLEM) for _ in range(3)]
    assert seeds == [second.next_seed(PROBLEM) for _ in range(3)]
    assert len(set(seeds)) == 3


def test_generation_on_cpu_leaves_the_repl_workers_their_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 33 s case: torch threads on every core while REPL processes work beside them."""
    from lean_prover.lean_env.config import LeanConfig

    built: list[PolicyConfig] = []

    def build(config: PolicyConfig) -> object:
        built.append(config)
        return object()

    monkeypatch.setattr("lean_prover.prover.agent.build_policy", build)
    monkeypatch.setattr("lean_prover.prover.agent.ReplChecker.from_config", lambda lean: object())
    monkeypatch.setattr("lean_prover.prover.policy.config.usable_cpus", lambda: 16)
    load_prover(PolicyConfig(), LeanConfig(workers=4))
    load_prover(PolicyConfig(threads=2), LeanConfig(workers=4))
    load_proposer(PolicyConfig())  # proposals only: no Lean beside the model
    assert [config.threads for config in built] == [12, 2, 0]


def test_no_constructor_of_the_proposer_builds_a_prover_without_a_checker() -> None:
    """`Prover.from_config`, inherited from `Proposer`, built a Prover whose checker was its
    list of examples; the loaders are functions now, and a Prover is always complete."""
    from lean_prover.prover.agent import Proposer

    assert not [name for name, value in vars(Proposer).items() if isinstance(value, classmethod)]
    assert inspect.signature(Prover).parameters["verifier"].default is inspect.Parameter.empty
