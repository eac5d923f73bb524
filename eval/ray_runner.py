"""Searches on Ray workers: one actor per worker, each owning a Prover (policy and verifier),
or, with `verifiers > 0`, a policy only, its checks going to that many Lean verifier actors
(`lean_env.remote`) shared by all workers.

The driver hands each worker one search at a time and records what comes back exactly as a
local run does (same rows, same summary, same proof store). A search is the unit of work on
Ray: a worker that dies is restarted by Ray and its search is run again from the start (its
attempts reach the run directory only when it finishes, so none is written twice). Works
with a local instance (`ray.init()`) and with a cluster address, unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from lean_prover.data.store import ProofRecord
from lean_prover.eval.compute import ComputeMeter
from lean_prover.eval.errors import EvalError
from lean_prover.eval.records import AttemptRow, UnitResult
from lean_prover.eval.spec import RunSpec
from lean_prover.eval.unit_search import SearchSink, UnitJob, search_unit
from lean_prover.lean_env.config import RayConfig
from lean_prover.lean_env.remote import RemoteChecker, VerifierFactory, connect_ray, start_verifier_actors
from lean_prover.lean_env.usage import LEAN_CPU
from lean_prover.prover.agent import Proposer, Prover
from lean_prover.prover.policy.base import PolicyUsage

logger = logging.getLogger(__name__)

ProverFactory = Callable[[], Prover]
WorkerFactory = Callable[[], Proposer]
"""Builds a worker's Prover; a Proposer (policy only) when the workers check on verifier actors."""


@dataclass(frozen=True)
class OnRay:
    """How searches run on Ray: the [ray] settings, how each worker builds its Prover, and (with
    `config.verifiers`) how each Lean verifier actor builds its verifier, the workers then
    holding a policy only."""

    config: RayConfig
    make_prover: WorkerFactory
    make_verifier: VerifierFactory | None = None
    worker_env: tuple[tuple[str, str], ...] = ()
    """Environment variables of the workers (e.g. PYTHONPATH of code they must import)."""


class SearchWorker:
    """A Ray actor: builds its Prover once, then runs searches one at a time. Given verifier
    actors, its Prover checks on them (the factory then need not start a verifier)."""

    def __init__(self, make_prover: WorkerFactory, verifiers: list[Any] | None = None) -> None:
        built = make_prover()
        if verifiers:
            self.prover = built.checking_with(RemoteChecker(verifiers))
        elif isinstance(built, Prover):
            self.prover = built
        else:
            raise EvalError("a search worker without verifier actors needs a factory that builds a Prover (policy and Lean)")

    def spending(self) -> tuple[PolicyUsage, float]:
        """The policy's usage and the Lean CPU seconds of this worker's process so far."""
        return self.prover.policy.usage, LEAN_CPU.seconds()

    async def search(self, job: UnitJob, spec: RunSpec) -> tuple[UnitResult, list[AttemptRow], list[ProofRecord]]:
        rows: list[AttemptRow] = []
        proofs: list[ProofRecord] = []
        result = await search_unit(job, self.prover, spec, rows.append, proofs.append)
        return result, rows, proofs


def run_on_ray(
    jobs: list[UnitJob], on_ray: OnRay, spec: RunSpec, recorder: SearchSink, meter: ComputeMeter | None = None
) -> None:
    """Run the searches on Ray workers. What the workers and verifier actors spent is added to
    `meter` at the end."""
    if not jobs:
        return
    options, make_verifier = on_ray.config, on_ray.make_verifier
    if options.verifiers and make_verifier is None:
        raise EvalError("verifier actors need a verifier factory")
    started = connect_ray(options, on_ray.worker_env)
    import ray

    verifiers = start_verifier_actors(make_verifier, options.verifiers, options.cpus_per_verifier) if make_verifier else []
    actor_class = ray.remote(
        num_cpus=options.cpus_per_worker, num_gpus=options.gpus_per_worker, max_restarts=-1, max_task_retries=-1
    )(SearchWorker)
    actors: list[Any] = [actor_class.remote(on_ray.make_prover, verifiers) for _ in range(min(options.workers, len(jobs)))]
    waiting = list(reversed(jobs))
    running: dict[Any, Any] = {}

    def give_work(actor: Any) -> None:
        if waiting:
            running[actor.search.remote(waiting.pop(), spec)] = actor

    try:
        for actor in actors:
            give_work(actor)
        while running:
            (ready,), _ = ray.wait(list(running), num_returns=1)
            actor = running.pop(ready)
            result, rows, proofs = ray.get(ready)
            for row in rows:
                recorder.attempt(row)
            for proof in proofs:
                recorder.proof(proof)
            recorder.finished(result)
            give_work(actor)
    finally:
        if meter is not None:
            _collect_spending(meter, actors, verifiers)
        for actor in actors + verifiers:
            ray.kill(actor)
        if started:
            ray.shutdown()


def _collect_spending(meter: ComputeMeter, workers: list[Any], verifiers: list[Any]) -> None:
    """Add the workers' policy usage and everyone's Lean CPU time to the meter (what a dead
    actor spent is lost; the record says what was measured)."""
    import ray

    try:
        spent = ray.get([w.spending.remote() for w in workers], timeout=30)
        lean = ray.get([v.lean_cpu_seconds.remote() for v in verifiers], timeout=30)
        pools = ray.get([v.pool_counters.remote() for v in verifiers], timeout=30)
    except (ray.exceptions.RayError, TimeoutError) as error:
        logger.warning("the compute record misses the Ray workers' share: %s", str(error).splitlines()[0])
        return
    for usage, lean_s in spent:
        for name in ("prompt_tokens", "generated_tokens", "samples", "busy_s", "retries", "too_long"):
            setattr(meter.remote, name, getattr(meter.remote, name) + getattr(usage, name))
        meter.remote_lean_cpu_s += lean_s
    meter.remote_lean_cpu_s += sum(lean)
    for counters in pools:
        meter.remote_pools = meter.remote_pools.plus(counters)
