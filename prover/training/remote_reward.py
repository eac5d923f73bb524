"""Lean's verdict as a reward for other RL stacks, from a `prover serve` (docs/serve.md).

Each reads a completion as our prompt formats write it (`extraction.extract`), checks it on the
one check path (`agent.check_candidate`) and scores it as `prover train rl` does
(`reward.score`, binary: 1.0 for a proof the guard and Lean accept), so a reward means the same
in every stack:

- **verl**: `compute_score(data_source, solution_str, ground_truth, extra_info=None)` is a custom
  reward function (verl 0.9.1: `reward.custom_reward_function.path=<this file>`,
  `reward.custom_reward_function.name=compute_score`; verl 0.4 read the same keys at the top
  level). It asks the service at `$LEAN_PROVER_URL` (default http://127.0.0.1:8000), with the
  key in `$LEAN_SERVER_API_KEY`.
- **OpenRLHF**: `--remote_rm_url http://HOST:8000/openrlhf/get_reward`. `prover serve` answers it
  (`openrlhf_router`) from its own REPL pool: OpenRLHF posts `{"query": [...], "prompts": [...],
  "labels": [...]}` (openrlhf/cli/serve_rm.py reads `query`; its remote reward client sends the
  prompts and labels with it) and reads `{"rewards": [...]}`; the completion is the query after
  its prompt.
- **TRL**: `prover train rl` with `rl.verifier_url` (`reward.LeanReward` over `ServiceChecker`).

A problem is named the same way everywhere (`ground_truth` for verl, the label for OpenRLHF):
`DATASET:NAME` of a registered benchmark, or a JSON object `{"problem": "DATASET:NAME"}` or
`{"statement": ..., "header": ..., "context": ...}`, optionally with `"prompt_format"` (default
`deepseek-v2`, a whole proof in a chat answer). A problem that asks for an answer takes the
completion's answer, held to the guard's rules for answers.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import load_problem
from lean_prover.data.problem import Problem
from lean_prover.lean_env.blocking import BlockingChecker
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.checks import theorem_name
from lean_prover.lean_env.service import Refused, Service
from lean_prover.lean_env.service_client import SERVICE_KEY_VARIABLE, ServiceChecker
from lean_prover.prover.agent import check_candidate
from lean_prover.prover.errors import ProverError
from lean_prover.prover.extraction import extract
from lean_prover.prover.prompts import get_format
from lean_prover.prover.training.config import RLConfig
from lean_prover.prover.training.reward import score

URL_VARIABLE = "LEAN_PROVER_URL"
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_FORMAT = "deepseek-v2"


def problem_spec(named: Any) -> dict[str, Any]:
    """A problem's name as the stacks give it (`DATASET:NAME`, or a JSON object) as a dict with
    `problem` or `statement` (and `header`, `context`, `prompt_format`). Raises ValueError."""
    if isinstance(named, dict):
        spec = dict(named)
    elif isinstance(named, str) and named.lstrip().startswith("{"):
        spec = json.loads(named)
        if not isinstance(spec, dict):
            raise ValueError("a problem given as JSON must be an object")
    elif isinstance(named, str):
        spec = {"problem": named.strip()}
    else:
        raise ValueError(f"a problem is named by DATASET:NAME or a JSON object, not {type(named).__name__}")
    get_format(str(spec.get("prompt_format", DEFAULT_FORMAT)))  # an unknown format: PromptError here
    return spec


async def reward_of(checker: Checker, problem: Problem, prompt_format: str, completion: str) -> float:
    """The reward of one completion, on the one check path (an answer problem's answer comes
    from the completion, as in `prover train rl`)."""
    verdict = await check_candidate(checker, problem, extract(problem, prompt_format, completion))
    return score(verdict, RLConfig())


# ---------------------------------------------------------------- verl


@functools.lru_cache(maxsize=1)
def _service() -> BlockingChecker:
    """One connection to the service for this process (verl calls the reward once a sample)."""
    url = os.environ.get(URL_VARIABLE, DEFAULT_URL)
    return BlockingChecker(ServiceChecker(url, os.environ.get(SERVICE_KEY_VARIABLE, "")))


@functools.lru_cache(maxsize=4096)
def _named_problem(reference: str) -> Problem:
    return load_problem(reference, DataConfig())


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict[str, Any] | None = None) -> float:
    """verl's custom reward function: 1.0 when the completion's proof of the problem that
    `ground_truth` names is accepted by the service's guard and Lean, else 0.0."""
    spec = problem_spec(ground_truth)
    fmt = str((extra_info or {}).get("prompt_format") or spec.get("prompt_format") or DEFAULT_FORMAT)
    if "problem" in spec:
        problem = _named_problem(str(spec["problem"]))
    else:
        statement = str(spec["statement"])
        problem = Problem(_theorem(statement), "", str(spec.get("header", "")), "", statement, "", data_source,
                          context=str(spec.get("context", "")))
    return _service().run(lambda checker: reward_of(checker, problem, fmt, solution_str))


def _theorem(statement: str) -> str:
    name = theorem_name(statement)
    if name is None:
        raise ValueError("the statement is not a `theorem NAME ... :=` or `lemma NAME ... :=`")
    return name


# ---------------------------------------------------------------- OpenRLHF


def openrlhf_router() -> APIRouter:
    """`POST /openrlhf/get_reward`, on a `prover serve` (its own pool, key and admission)."""
    router = APIRouter()

    @router.post("/openrlhf/get_reward")
    async def get_reward(request: Request) -> Response:
        service: Service = request.app.state.service
        service.authorize(request)
        body = await service.read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("query"), list):
            raise Refused(422, "query: give the list of prompt-and-response texts")
        queries = [str(q) for q in body["query"]]
        prompts = body.get("prompts") or [""] * len(queries)
        labels = body.get("labels")
        if not isinstance(prompts, list) or not isinstance(labels, list) or not len(prompts) == len(labels) == len(queries):
            raise Refused(422, "labels (and prompts, if given): one for each query, naming its problem")
        judged: list[tuple[Problem, str, str]] = []  # every label read before any work starts
        for index, (query, prompt, label) in enumerate(zip(queries, prompts, labels)):
            try:
                spec = problem_spec(label)
            except (ValueError, ProverError) as error:  # not JSON, a wrong type, an unknown prompt format
                raise Refused(422, f"labels.{index}: {error}") from None
            problem = service.problem_for(f"labels.{index}", spec.get("problem"), spec.get("statement"),
                                          str(spec.get("header", "")), str(spec.get("context", "")))
            completion = query[len(prompt):] if prompt and query.startswith(str(prompt)) else query
            judged.append((problem, str(spec.get("prompt_format", DEFAULT_FORMAT)), completion))
        rewards = await service.answer_all(request, [reward_of(service.checker, p, fmt, text) for p, fmt, text in judged])
        return JSONResponse({"rewards": rewards, "scores": rewards})

    return router
