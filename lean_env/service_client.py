"""A `Checker` whose Lean is a `prover serve` elsewhere (`rl.verifier_url`): the same protocol
as the REPL pool in this process, over HTTP, so that training (and anything else that takes a
`Checker`) uses a shared verification service without knowing it.

Each check is one `POST /prover/check` of the problem's statement, header and context (which
this side vouches for, as it holds the problem) with the candidate's proof, helpers and restated
statement; the service's answer becomes the verdict of the same kind a local check gives. A
full service (503) is asked again after its `Retry-After`; a service that cannot be reached is
an environment failure (`ServiceUnreachableError`, exit 3). A problem that asks for an answer is
sent by its id (`DATASET:ID`, which the service must find in the same benchmark) with the
candidate's answer apart, never as context: the service fills it and judges the term.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from lean_prover.data.errors import EnvironmentFailure
from lean_prover.data.problem import Problem
from lean_prover.lean_env.errors import LeanEnvError
from lean_prover.lean_env.guard import Violation
from lean_prover.lean_env.protocol import Message, Pos
from lean_prover.lean_env.tactic_mode import TacticRunner
from lean_prover.lean_env.verdict import (
    CERTIFIED_TIER,
    Crashed,
    GuardRejected,
    Incomplete,
    LeanErrors,
    LeanRun,
    Proved,
    Tampered,
    TimedOut,
    Verdict,
)

logger = logging.getLogger(__name__)

SERVICE_KEY_VARIABLE = "LEAN_SERVER_API_KEY"
"""Where the service's API key is read from (the variable kimina-client reads too)."""

FULL_RETRIES = 30
"""How often a request the service turned away as full is sent again (each after its Retry-After)."""


class ServiceUnreachableError(LeanEnvError, EnvironmentFailure):
    """The verification service did not answer, or answered something else than its API."""


class ServiceChecker:
    """`Checker` over HTTP. `certified=True` asks for the certified tier on every `certify`."""

    def __init__(self, url: str, api_key: str = "", timeout_s: float = 600.0, max_in_flight: int = 64) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout_s + 30)
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_in_flight)
        self._ids = itertools.count()

    async def verify(
        self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        return await self._check(problem, proof, restated_statement, preamble, "fast")

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        """The verdict a proof leaves with under the service's `lean.certify` (its certified tier
        where it runs one), as `ReplChecker.certify` gives under this side's."""
        if not isinstance(verdict, Proved) or verdict.tier == CERTIFIED_TIER:
            return verdict
        return await self._check(problem, proof, None, preamble, "final")

    async def check_sketch(
        self, problem: Problem, sketch: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        raise NotImplementedError("the verification service checks whole proofs; decomposition needs a local Lean")

    async def check_source(self, text: str) -> LeanRun:
        raise NotImplementedError("the verification service checks proofs of statements; a file needs a local Lean")

    def tactic_session(self, problem: Problem) -> AbstractAsyncContextManager[TacticRunner]:
        raise NotImplementedError("tactic mode needs a local Lean (its proof states live in one REPL)")

    async def close(self) -> None:
        await self._client.aclose()

    async def _check(self, problem: Problem, proof: str, restated: str | None, preamble: str, tier: str) -> Verdict:
        item: dict[str, Any] = {"id": str(next(self._ids)), "proof": proof, "preamble": preamble,
                                "restated_statement": restated}
        asked = problem.answer_to_find
        if asked is None:
            item.update(statement=problem.formal_statement, header=problem.header, context=problem.context)
        elif asked.term is None:
            return GuardRejected((Violation("answer-missing", f"{problem.id} asks for {asked.name}, and no answer "
                                            "was given"),))
        else:
            # The candidate's answer is not context anyone vouches for: the service fills the
            # problem (found by its id in the same benchmark) and holds the term to the guard's rules.
            item.update(problem=f"{problem.source}:{problem.id}", answer=asked.term)
        async with self._slots:
            answer = await self._post({"items": [item], "tier": tier, "timeout": self._timeout_s})
        return verdict_of(answer["results"][0])

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        for _ in range(FULL_RETRIES):
            try:
                response = await self._client.post("/prover/check", json=body)
            except httpx.TransportError as error:
                raise ServiceUnreachableError(f"the verification service at {self.url} cannot be reached: {error}") from error
            if response.status_code == 503:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code != 200:
                raise ServiceUnreachableError(
                    f"the verification service at {self.url} answered HTTP {response.status_code}: {response.text[:300]}")
            try:
                data: dict[str, Any] = response.json()
                data["results"][0]["outcome"]
            except (ValueError, KeyError, IndexError, TypeError) as error:
                raise ServiceUnreachableError(f"{self.url} does not answer as `prover serve` does") from error
            return data
        raise ServiceUnreachableError(f"the verification service at {self.url} stayed full")


def verdict_of(result: dict[str, Any]) -> Verdict:
    """The verdict of the kind a local check gives, from the service's answer for one proof (the
    service keeps Lean's messages and traces; what comes back is the judgement and its reasons)."""
    outcome, details = str(result.get("outcome")), [str(d) for d in result.get("details") or []]
    reason = "; ".join(details) or outcome
    if outcome == "proved" and result.get("valid") is True:
        return Proved(LeanRun(), tuple(result.get("axioms") or ()), tier=str(result.get("tier") or "fast"),
                      checker=f"{result.get('checker')} via the verification service")
    if outcome == "lean-errors":
        message = Message(severity="error", pos=Pos(line=0, column=0), data=reason)
        return LeanErrors(LeanRun(messages=(message,)), message, None)
    if outcome == "incomplete":
        return Incomplete(LeanRun())
    if outcome == "timeout":
        return TimedOut(float(result.get("time") or 0.0))
    if outcome == "crashed":
        return Crashed(reason)
    if outcome == "tampered":
        return Tampered(reason)
    return GuardRejected((Violation(outcome, reason),))
