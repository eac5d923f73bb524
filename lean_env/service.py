"""`prover serve`: Lean verification over HTTP, for other people's training jobs and scripts.

One REPL pool (imports run once per process and reused, the guard, the certified tier when
`lean.certify` asks) behind two kinds of endpoint:

- kimina-lean-server's, so that its clients work unchanged (project-numina/kimina-lean-server
  `server/routers/check.py` and `backward.py`, the shapes of `client/kimina_client/models.py`):
  `POST /api/check` takes `{"snippets": [{"id", "code"}], "timeout", "debug", "reuse",
  "infotree"}` and answers `{"results": [{"id", "time", "response" | "error"}]}`; `POST /verify`
  takes `{"codes": [{"custom_id", "proof" | "code"}], "timeout", "infotree_type",
  "disable_cache"}` and answers `{"results": [{"custom_id", "response" | "error"}]}`. The
  `response` is the REPL's own answer to the whole snippet (its messages and sorries, with the
  snippet's own line numbers), which is all kimina's verdict reads ("valid": no error, no sorry);
  it is the run our check of the snippet's last theorem makes, not a run of its own.
- Our verdict rides along in a field of its own, `lean_prover`, which kimina's clients ignore:
  every theorem of the snippet checked as `prover check FILE` checks it (the allowlist, Lean's
  own parse, the axioms, a statement that means what it says), `valid` only when each passed. A
  snippet that declares `axiom cheat : False` and proves its theorem with it is "valid" to
  kimina and not to us.

Bodies are read by hand, before any model sees them: too large is 413, not UTF-8 or not JSON
(nested past what the parser takes included) is 400, an unknown field, a duplicate id or too
many snippets is 422, a missing or wrong API key (compared in constant time) is 401, and more
snippets than `serve.max_queue` at once is 503 with `Retry-After`. A snippet that runs past its
`timeout` is cut (its REPL killed and replaced) and answered as kimina answers it ("timed
out"); a client that goes away cancels its snippets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Coroutine, Literal, Sequence, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import load_problems
from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import LeanFile
from lean_prover.data.lean_lexer import TRIVIA, LexError, tokenize
from lean_prover.data.problem import Problem
from lean_prover.data.problem_ids import find_problem
from lean_prover.lean_env.config import ServeConfig
from lean_prover.lean_env.errors import LeanEnvError, ReplError, ReplTimeoutError
from lean_prover.lean_env.repl import REQUEST_TIME_LIMIT
from lean_prover.lean_env.checks import theorem_name
from lean_prover.lean_env.file_check import TheoremReport, check_with_lean, plan_unvouched, report_verdict
from lean_prover.lean_env.repl_checker import CandidateAnswer, ReplChecker
from lean_prover.lean_env.verdict import Crashed, Proved, TimedOut, Verdict

logger = logging.getLogger(__name__)

Infotree = Literal["full", "tactics", "original", "substantive"]
T = TypeVar("T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SnippetIn(_Strict):
    id: str
    code: str


class CheckBody(_Strict):
    """kimina-client's `CheckRequest`."""

    snippets: list[SnippetIn]
    timeout: float = Field(30, ge=0)
    debug: bool = False
    reuse: bool = True
    infotree: Infotree | None = None


class CodeIn(_Strict):
    custom_id: str | int
    proof: str | None = None
    code: str | None = None


class VerifyBody(_Strict):
    """kimina-client's `VerifyRequestBody` (the legacy `/verify`)."""

    codes: list[CodeIn]
    timeout: float = Field(300, ge=0)
    infotree_type: Infotree | None = None
    disable_cache: bool = False


class ProofIn(_Strict):
    """One proof for our own endpoint: of a registered benchmark's problem (`DATASET:NAME`), or
    of a statement given with the header and context it needs (which the caller vouches for)."""

    id: str
    proof: str
    """The text after the statement's `:=` (`by` included when the statement ends without it)."""
    problem: str | None = None
    statement: str | None = None
    header: str = ""
    context: str = ""
    preamble: str = ""
    """Helper declarations the proof needs, between the context and the statement (held to the
    allowlist like the proof)."""
    restated_statement: str | None = None
    """The statement as the policy wrote it (chat answers restate it): it must be the statement,
    token for token."""
    answer: str | None = None
    """For a problem that asks for an answer (PutnamBench's `…_solution`): the term that fills it,
    held to the guard's rules for answers and checked by Lean where it stands."""


class ProveBody(_Strict):
    items: list[ProofIn]
    tier: Literal["fast", "final", "certified"] = "fast"
    """`fast`: the REPL's verdict; `certified`: the kernel replays it too (refused where the service
    runs no certified tier); `final`: the verdict a proof leaves with under the service's
    `lean.certify` (certified where it runs the tier, else fast)."""
    timeout: float = Field(60, ge=0)


class Refused(LeanEnvError):
    """A request answered with an HTTP error, before any Lean runs."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass
class Metrics:
    """What `GET /metrics` shows, in Prometheus' text format (one registry per service)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.queue = Gauge("lean_prover_serve_snippets_admitted", "Snippets running or waiting for a REPL.",
                           registry=self.registry)
        self.snippets = Counter("lean_prover_serve_snippets", "Snippets answered, by our verdict.", ["verdict"],
                                registry=self.registry)
        self.refused = Counter("lean_prover_serve_refused_requests", "Requests refused before any Lean ran.",
                               ["status"], registry=self.registry)
        self.seconds = Histogram("lean_prover_serve_snippet_seconds", "Time to answer one snippet.",
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
                                 registry=self.registry)
        self.repl_events = Gauge("lean_prover_serve_repl_events", "What the REPL pool went through.", ["event"],
                                 registry=self.registry)


class Service:
    """The handlers, over one checker. `build_app` mounts them."""

    def __init__(self, checker: ReplChecker, config: ServeConfig, api_key: str = "",
                 data: DataConfig | None = None) -> None:
        self.checker = checker
        self.config = config
        self.api_key = api_key
        self.data = data or DataConfig()
        self._datasets: dict[str, list[Problem]] = {}
        self.metrics = Metrics()
        self.admitted = 0
        self.draining = False

    # ------------------------------------------------------------ requests

    def authorize(self, request: Request) -> None:
        if not self.api_key:
            return
        given = request.headers.get("authorization", "")
        token = given.removeprefix("Bearer ").strip()
        if not token:
            raise Refused(401, "Missing API key")
        if not hmac.compare_digest(token.encode("utf-8"), self.api_key.encode("utf-8")):
            raise Refused(401, "Invalid API key")

    async def read_json(self, request: Request) -> Any:
        limit = int(self.config.max_body_mb * 2**20)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Refused(413, f"the body is larger than serve.max_body_mb = {self.config.max_body_mb:g} MiB")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise Refused(413, f"the body is larger than serve.max_body_mb = {self.config.max_body_mb:g} MiB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Refused(400, f"the body is not UTF-8 (byte {error.start})") from None
        try:
            return json.loads(text)
        except RecursionError:
            raise Refused(400, "the body is nested too deeply to read") from None
        except ValueError as error:
            raise Refused(400, f"the body is not JSON: {error}") from None

    def parsed(self, model: type[BaseModel], data: Any) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise Refused(422, f"{where}: {first['msg']}") from None

    @contextlib.asynccontextmanager
    async def admission(self, count: int) -> AsyncIterator[None]:
        """Room for `count` snippets, or a 503 that says when to try again."""
        if count > self.config.max_snippets:
            raise Refused(422, f"{count} snippets in one request; serve.max_snippets is {self.config.max_snippets}")
        if self.draining:
            raise Refused(503, "shutting down", {"Retry-After": "5"})
        if self.admitted + count > self.config.max_queue:
            raise Refused(503, f"{self.admitted} snippets are being checked; serve.max_queue is "
                          f"{self.config.max_queue}", {"Retry-After": "1"})
        self.admitted += count
        self.metrics.queue.set(self.admitted)
        try:
            yield
        finally:
            self.admitted -= count
            self.metrics.queue.set(self.admitted)

    # ------------------------------------------------------------ snippets

    async def answer(self, snippet_id: str, code: str, timeout: float, infotree: Infotree | None) -> dict[str, Any]:
        """kimina's `ReplResponse` for one snippet (`id`, `time`, `response` or `error`), with our
        verdict under `lean_prover`."""
        started = time.monotonic()
        limit = self._limit(timeout)
        REQUEST_TIME_LIMIT.set(limit)  # this snippet's task: each Lean request, not the wait for a REPL
        result: dict[str, Any] = {"id": snippet_id}
        try:
            result["response"], result["lean_prover"] = await self._judge(snippet_id, code, infotree)
            label = "valid" if result["lean_prover"]["valid"] else "invalid"
        except ReplTimeoutError:
            result["error"] = f"Lean REPL command timed out in {limit:g} seconds"
            result["lean_prover"] = {"valid": False, "reason": "timed out", "theorems": []}
            label = "timeout"
        except ReplError as error:
            result["error"] = f"the REPL failed: {str(error)[:500]}"
            result["lean_prover"] = {"valid": False, "reason": "the REPL failed", "theorems": []}
            label = "repl_error"
        seconds = time.monotonic() - started
        result["time"] = round(seconds, 3)
        self.metrics.snippets.labels(label).inc()
        self.metrics.seconds.observe(seconds)
        return result

    async def _judge(self, snippet_id: str, code: str, infotree: Infotree | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The REPL's answer to the snippet and our verdict on each of its theorems (checked as
        `prover check FILE` checks a file nobody vouches for). The check of the snippet's last
        theorem runs the whole snippet as its candidate, and the REPL's answer to that run is the
        answer: no run of its own. Raises ReplError when the REPL gave no answer to the snippet
        (timed out, crashed)."""
        try:
            parsed = LeanFile.parse(code, f"snippet {snippet_id}")
            plans = plan_unvouched(parsed, self.checker.policy)
        except LexError as error:
            message = {"severity": "error", "pos": {"line": 1, "column": 0}, "data": f"the snippet does not read as Lean: {error}"}
            return {"messages": [message]}, {"valid": False, "reason": "the snippet does not read as Lean", "theorems": []}
        except DataError as error:
            return await self._snippet_answer(code, infotree), {"valid": False, "reason": str(error), "theorems": []}
        if not plans:
            return await self._snippet_answer(code, infotree), {"valid": False, "reason": "no theorem or lemma to check",
                                                                 "theorems": []}
        last, tail = plans[-1], code[parsed.theorems[-1].proof_span[1]:]
        if last.problem is None or last.file_violations or not _trivia(tail):
            response, reports = await asyncio.gather(self._snippet_answer(code, infotree),
                                                     check_with_lean(plans, self.checker))
            return response, _verdict_of(reports)
        # The last theorem's candidate is the snippet: all of the text before its proof, the
        # proof, and what follows it (blank, or comments by our reading; Lean reads that tail with
        # the rest, so code it finds there meets the guard).
        seen = CandidateAnswer(infotree)
        earlier, verdict = await asyncio.gather(check_with_lean(plans[:-1], self.checker),
                                                self.checker.verify_alone(last.problem, last.proof + tail, seen))
        reports = [*earlier, report_verdict(last.id, last.problem.source, verdict, vouched=False)]
        if seen.answers(code):
            assert seen.answer is not None
            response = seen.answer.to_json_dict()
            response.pop("tactics", None)  # asked for the verdict's trace; kimina's clients did not ask
            return response, _verdict_of(reports)
        if isinstance(verdict, TimedOut):  # the snippet itself, or what it needs first, ran past its time
            raise ReplTimeoutError(f"the snippet's check timed out after {verdict.seconds:.1f} s")
        if isinstance(verdict, Crashed):
            raise ReplError(verdict.reason)
        return await self._snippet_answer(code, infotree), _verdict_of(reports)

    async def _snippet_answer(self, code: str, infotree: Infotree | None) -> dict[str, Any]:
        return (await self.checker.run_snippet(code, infotree)).to_json_dict()

    async def answer_all(self, request: Request, work: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
        """The answers of a request's `work`, admitted as one (`admission`). Raises Refused: 503
        when there is no room (nothing runs), 499 when the client goes away first (its work is
        cancelled, and so are the Lean requests it made)."""
        try:
            async with self.admission(len(work)):
                return await self._unless_gone(request, work)
        finally:
            for coroutine in work:
                coroutine.close()  # those never started (a refused request); a finished one is left as it is

    async def _unless_gone(self, request: Request, work: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
        everything = asyncio.ensure_future(asyncio.gather(*work))
        gone = asyncio.ensure_future(_until_disconnected(request))
        try:
            racing: set[asyncio.Future[Any]] = {everything, gone}
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not everything.done():
                everything.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await everything
            gone.cancel()
        if everything.cancelled():
            logger.info("a client went away; its snippets were cancelled")
            raise Refused(499, "the client went away")
        return list(everything.result())

    # ------------------------------------------------------------ endpoints

    async def check(self, request: Request) -> Response:
        self.authorize(request)
        body: CheckBody = self.parsed(CheckBody, await self.read_json(request))
        _require_unique([s.id for s in body.snippets], "snippets", "id")
        if not body.snippets:
            raise Refused(422, "snippets: must be non empty")
        results = await self.answer_all(request, [self.answer(s.id, s.code, body.timeout, body.infotree)
                                                  for s in body.snippets])
        return JSONResponse({"results": results})

    async def verify(self, request: Request) -> Response:
        self.authorize(request)
        body: VerifyBody = self.parsed(VerifyBody, await self.read_json(request))
        _require_unique([str(c.custom_id) for c in body.codes], "codes", "custom_id")
        texts = []
        for index, code in enumerate(body.codes):
            text = code.proof if code.proof is not None else code.code
            if text is None:
                raise Refused(422, f"codes.{index}: give `proof` or `code`")
            texts.append(text)
        results = await self.answer_all(request, [self.answer(str(c.custom_id), t, body.timeout, body.infotree_type)
                                                  for c, t in zip(body.codes, texts)])
        return JSONResponse({"results": [_backward(r) for r in results]})

    async def prove(self, request: Request) -> Response:
        """Our own endpoint: each item's proof judged against its problem's untouched statement."""
        self.authorize(request)
        body: ProveBody = self.parsed(ProveBody, await self.read_json(request))
        _require_unique([item.id for item in body.items], "items", "id")
        if not body.items:
            raise Refused(422, "items: must be non empty")
        if body.tier == "certified" and self.checker.certifier is None:
            raise Refused(422, 'tier "certified": this service runs no certified tier (lean.certify = "never")')
        problems = [self._problem(index, item) for index, item in enumerate(body.items)]
        results = await self.answer_all(request, [self.judge(item, problem, body.tier, body.timeout)
                                                  for item, problem in zip(body.items, problems)])
        return JSONResponse({"results": results})

    def _problem(self, index: int, item: ProofIn) -> Problem:
        problem = self.problem_for(f"items.{index}", item.problem, item.statement, item.header, item.context)
        if problem.answer_to_find is None:
            if item.answer is not None:
                raise Refused(422, f"items.{index}.answer: {problem.id} asks for no answer")
            return problem
        if item.answer is None:
            raise Refused(422, f"items.{index}: {problem.id} asks for an answer; give it in `answer`")
        return problem.with_answer(item.answer)

    def problem_for(self, where: str, reference: str | None, statement: str | None, header: str = "",
                    context: str = "") -> Problem:
        """A registered benchmark's problem (`DATASET:NAME`, found as `data` finds datasets), or
        the problem of a given statement with its header and context. Raises Refused (422)."""
        if (reference is None) == (statement is None):
            raise Refused(422, f"{where}: give `problem` (DATASET:NAME) or `statement`, not both")
        if reference is not None:
            dataset, _, key = reference.rpartition(":")
            try:
                if dataset not in self._datasets:
                    self._datasets[dataset] = load_problems(dataset, self.data)
                return find_problem(self._datasets[dataset], key, source=dataset)
            except DataError as error:
                raise Refused(422, f"{where}.problem: {error}") from None
        assert statement is not None
        try:
            name = theorem_name(statement)
        except LexError as error:
            raise Refused(422, f"{where}.statement: does not read as Lean: {error}") from None
        if name is None:
            raise Refused(422, f"{where}.statement: not a `theorem NAME ... :=` or `lemma NAME ... :=`")
        return Problem(name, "", header, "", statement, "", "request", context=context)

    def _limit(self, timeout: float) -> float:
        return min(timeout, self.config.max_timeout_s) if timeout > 0 else self.config.max_timeout_s

    async def judge(self, item: ProofIn, problem: Problem, tier: str, timeout: float) -> dict[str, Any]:
        started = time.monotonic()
        limit = self._limit(timeout)
        REQUEST_TIME_LIMIT.set(limit)

        async def checked() -> Verdict:
            verdict = await self.checker.verify(problem, item.proof, item.restated_statement, item.preamble)
            if tier == "fast":
                return verdict
            return await self.checker.certify(problem, item.proof, verdict, item.preamble)

        verdict = await checked()  # a Lean request past `limit` is a TimedOut verdict
        seconds = time.monotonic() - started
        report = report_verdict(item.id, problem.source, verdict)
        self.metrics.snippets.labels("valid" if report.passed else "invalid").inc()
        self.metrics.seconds.observe(seconds)
        proved = verdict if isinstance(verdict, Proved) else None
        return {"id": item.id, "valid": report.passed, "outcome": report.outcome.value, "details": report.details,
                "tier": proved.tier if proved else None, "checker": proved.checker if proved else None,
                "axioms": list(proved.axioms) if proved else None, "statement_sha256": problem.statement_sha256,
                "time": round(seconds, 3)}

    def metrics_text(self) -> Response:
        counters = self.checker.pool.counters
        for event in ("processes_started", "restarts", "recycles", "timeouts", "checks"):
            self.metrics.repl_events.labels(event).set(getattr(counters, event))
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def build_app(checker: ReplChecker, config: ServeConfig, api_key: str = "", data: DataConfig | None = None) -> FastAPI:
    """The ASGI app; its lifespan closes the checker (every REPL) at shutdown. `data` says where
    registered benchmarks are found (our endpoint's `problem`). `app.state.service` is the
    `Service`, for routes mounted on top (the RL stacks' reward endpoints, which read completions
    as the prover's prompt formats write them)."""
    service = Service(checker, config, api_key, data)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.draining = True
        await checker.close()

    app = FastAPI(title="lean-prover verification service", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.service = service

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, Refused)
        service.metrics.refused.labels(str(error.status)).inc()
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)

    app.add_exception_handler(Refused, refused)
    for path in ("/api/check", "/api/check/"):
        app.add_api_route(path, service.check, methods=["POST"], include_in_schema=path.endswith("check"))
    for path in ("/verify", "/one_pass_verify_batch"):
        app.add_api_route(path, service.verify, methods=["POST"])
    app.add_api_route("/prover/check", service.prove, methods=["POST"])

    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # `/` too: the first Lean4Client asks it before anything else (kimina-lean-server b86e3a9,
    # client/client.py `_test_connection`; its server/routers/health.py answers all three).
    for path in ("/health", "/health/", "/"):
        app.add_api_route(path, health, methods=["GET"], include_in_schema=path == "/health")

    @app.get("/ready")
    async def ready() -> Response:
        if service.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        return JSONResponse({"status": "ready", "admitted": service.admitted, "max_queue": config.max_queue})

    @app.get("/metrics")
    async def metrics() -> Response:
        return service.metrics_text()

    return app


# ---------------------------------------------------------------- shapes


def _trivia(text: str) -> bool:
    return all(token.kind in TRIVIA for token in tokenize(text))


def _verdict_of(reports: list[TheoremReport]) -> dict[str, Any]:
    return {"valid": all(r.passed for r in reports), "theorems": [_theorem(r) for r in reports]}


def _theorem(report: TheoremReport) -> dict[str, Any]:
    return {"id": report.id, "passed": report.passed, "outcome": report.outcome.value, "details": report.details}


def _backward(result: dict[str, Any]) -> dict[str, Any]:
    """kimina's legacy `BackwardResponse`: `custom_id`, and `response` (with `time`) or `error`.
    `error` is there (null) beside a response, as the first server wrote it (kimina-lean-server
    b86e3a9, server/server.py `verify`): scripts of that time read `result["error"]`."""
    out: dict[str, Any] = {"custom_id": result["id"], "error": result.get("error"), "lean_prover": result["lean_prover"]}
    if "error" not in result:
        out["response"] = {**result["response"], "time": result["time"]}
    return out


def _require_unique(ids: list[str], where: str, key: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            raise Refused(422, f"{where}.{index}.{key}: {value!r} is given twice; ids must be unique")
        seen.add(value)


async def _until_disconnected(request: Request) -> None:
    """Returns when the client closes the connection (the body has been read by then, so the
    next ASGI message is the disconnect; nothing polls)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
