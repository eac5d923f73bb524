"""Lean verifier actors on Ray, and the client through which others use them.

On a cluster, generation (GPUs) and Lean (many CPU cores) scale apart: a few search workers
or a trainer hold the policy, and verifier actors, each owning a REPL pool, check what it
proposes. The policy's side gets a `RemoteChecker` in place of its own REPLs; it sends each
check to the least busy actor. Actors are created with `max_restarts=-1` and
`max_task_retries=-1`: when one dies, Ray starts it again and reruns the checks it was doing,
so a search sees a slower answer, never a lost one.
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

from lean_prover.data.errors import EnvironmentFailure
from lean_prover.data.problem import Problem
from lean_prover.lean_env.config import RayConfig
from lean_prover.lean_env.errors import LeanEnvError
from lean_prover.lean_env.tactic_mode import GoalState, TacticFailed, TacticOutcome, TacticRunner
from lean_prover.lean_env.usage import LEAN_CPU, REPL_POOLS, PoolCounters
from lean_prover.lean_env.verdict import LeanRun, Verdict
from lean_prover.lean_env.repl_checker import ReplChecker

VerifierFactory = Callable[[], ReplChecker]
"""Builds an actor's verifier (e.g. `functools.partial(ReplChecker.from_config, lean_config)`)."""


class RayUnavailableError(LeanEnvError, EnvironmentFailure):
    """Ray is not installed: exit 3."""


def connect_ray(config: RayConfig, env: tuple[tuple[str, str], ...] = ()) -> bool:
    """Connect to the Ray cluster at `config.address` (`auto`, `ray://host:10001`), or start a
    local instance (empty address) with its own temp dir and object store size (Ray's default
    takes a third of memory from /dev/shm). `env`: environment variables of the workers (e.g.
    PYTHONPATH of code they must import). True when this call started Ray (and should shut it
    down). What the actors log (a REPL that failed, a retry) reaches the driver's stderr,
    each line prefixed by Ray with the actor that wrote it: `(CheckerActor pid=4242) ...`."""
    try:
        import ray
    except ImportError as error:
        raise RayUnavailableError("Ray is not installed: pip install 'lean-prover[ray]'") from error
    if ray.is_initialized():
        return False
    runtime_env: dict[str, Any] | None = {"env_vars": dict(env)} if env else None
    if config.address:
        ray.init(address=config.address, runtime_env=runtime_env, log_to_driver=True)
    else:
        ray.init(
            num_cpus=config.local_cpus or None,
            object_store_memory=config.object_store_mb * 1024 * 1024,
            include_dashboard=False,
            _temp_dir=tempfile.mkdtemp(prefix="ray-"),  # short: Ray's socket paths must fit 107 bytes
            runtime_env=runtime_env,
            log_to_driver=True,
        )
    return True


def start_verifier_actors(make_verifier: VerifierFactory, count: int, cpus_each: float) -> list[Any]:
    """`count` verifier actors on the connected Ray cluster. They are restarted when they die,
    and the checks they were running are run again."""
    import ray

    actor_class = ray.remote(num_cpus=cpus_each, max_restarts=-1, max_task_retries=-1)(CheckerActor)
    return [actor_class.remote(make_verifier) for _ in range(count)]


class CheckerActor:
    """A Ray actor owning one verifier (a REPL pool); tactic sessions stay in this process."""

    def __init__(self, make_verifier: VerifierFactory) -> None:
        self.verifier = make_verifier()
        self._sessions: dict[int, tuple[contextlib.AsyncExitStack, TacticRunner]] = {}
        self._session_ids = itertools.count(1)

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None, preamble: str) -> Verdict:
        return await self.verifier.verify(problem, proof, restated_statement, preamble)

    async def check_sketch(
        self, problem: Problem, sketch: str, restated_statement: str | None, preamble: str
    ) -> Verdict:
        return await self.verifier.check_sketch(problem, sketch, restated_statement, preamble)

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str) -> Verdict:
        return await self.verifier.certify(problem, proof, verdict, preamble)

    async def check_source(self, text: str) -> LeanRun:
        return await self.verifier.check_source(text)

    async def open_session(self, problem: Problem) -> tuple[int, GoalState | TacticFailed]:
        stack = contextlib.AsyncExitStack()
        session = await stack.enter_async_context(self.verifier.tactic_session(problem))
        session_id = next(self._session_ids)
        self._sessions[session_id] = (stack, session)
        return session_id, await session.start()

    async def run_tactic(self, session_id: int, state: GoalState, tactic: str) -> TacticOutcome:
        session = self._sessions.get(session_id)
        if session is None:
            return TacticFailed("the verifier actor was restarted; its tactic session is gone")
        return await session[1].run_tactic(state, tactic)

    def lean_cpu_seconds(self) -> float:
        """The Lean CPU time of this actor's process (for the run's compute record)."""
        return LEAN_CPU.seconds()

    def pool_counters(self) -> PoolCounters:
        """What this actor's REPL pool did (for the run's compute record)."""
        return REPL_POOLS.snapshot()

    async def close_session(self, session_id: int) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            await session[0].aclose()


class RemoteChecker:
    """A `Checker` whose checks run on verifier actors (Ray handles)."""

    def __init__(self, actors: list[Any]) -> None:
        if not actors:
            raise ValueError("a RemoteChecker needs at least one verifier actor")
        self.actors = actors
        self._busy = [0] * len(actors)

    @asynccontextmanager
    async def _actor(self) -> AsyncIterator[Any]:
        index = min(range(len(self.actors)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            yield self.actors[index]
        finally:
            self._busy[index] -= 1

    async def _on_an_actor(self, method: str, *arguments: Any) -> Any:
        """Call `method` on the least busy actor and wait for its answer."""
        async with self._actor() as actor:
            return await getattr(actor, method).remote(*arguments)

    async def verify(
        self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        verdict: Verdict = await self._on_an_actor("verify", problem, proof, restated_statement, preamble)
        return verdict

    async def check_sketch(
        self, problem: Problem, sketch: str, restated_statement: str | None = None, preamble: str = ""
    ) -> Verdict:
        verdict: Verdict = await self._on_an_actor("check_sketch", problem, sketch, restated_statement, preamble)
        return verdict

    async def certify(self, problem: Problem, proof: str, verdict: Verdict, preamble: str = "") -> Verdict:
        certified: Verdict = await self._on_an_actor("certify", problem, proof, verdict, preamble)
        return certified

    async def check_source(self, text: str) -> LeanRun:
        run: LeanRun = await self._on_an_actor("check_source", text)
        return run

    @asynccontextmanager
    async def tactic_session(self, problem: Problem) -> AsyncIterator[RemoteTacticSession]:
        async with self._actor() as actor:
            session = RemoteTacticSession(actor, problem)
            try:
                yield session
            finally:
                await session.close()

    async def close(self) -> None:
        """The actors belong to whoever started them (the run), not to this client."""


class RemoteTacticSession:
    """Tactic mode on one actor: its proof states live in that actor's REPL."""

    def __init__(self, actor: Any, problem: Problem) -> None:
        self.actor = actor
        self.problem = problem
        self.session_id: int | None = None

    async def start(self) -> GoalState | TacticFailed:
        self.session_id, outcome = await self.actor.open_session.remote(self.problem)
        return outcome  # type: ignore[no-any-return]

    async def run_tactic(self, state: GoalState, tactic: str) -> TacticOutcome:
        if self.session_id is None:
            raise RuntimeError("start() the session first")
        outcome: TacticOutcome = await self.actor.run_tactic.remote(self.session_id, state, tactic)
        return outcome

    async def close(self) -> None:
        if self.session_id is not None:
            await self.actor.close_session.remote(self.session_id)
