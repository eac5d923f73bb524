"""`prover serve` driven by kimina-lean-server's own client (`kimina-client`), against the REPL double."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import httpx
import pytest
import uvicorn

from lean_prover.data.config import DataConfig
from lean_prover.lean_env.config import ServeConfig
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.service import build_app
from lean_prover.lean_env.workspace import Pins
from tests.conftest import load_kimina_client, run_cli, scripted_settings

load_kimina_client()
from kimina_client import KiminaClient, Snippet, SnippetStatus  # noqa: E402
from kimina_client.models import VerifyResponse  # noqa: E402

PROOF = "import Mathlib\n\ntheorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n  subst h\n  norm_num\n"
AXIOM = "import Mathlib\n\naxiom cheat : False\n\ntheorem t : (1 : ℕ) = 2 := by\n  exact cheat.elim\n"
FAILING = "import Mathlib\n\ntheorem t : True := by\n  FAIL\n"
SORRY = "import Mathlib\n\ntheorem t : True := by\n  sorry\n"
KEY = "s3cret-key"


class Served:
    """A running service on loopback, stopped on exit."""

    def __init__(self, config: ServeConfig, api_key: str = "", workers: int = 2, data: DataConfig | None = None,
                 **repl: Any) -> None:
        checker = ReplChecker(ReplPool(scripted_settings(**repl), workers), Pins.unknown(), GuardPolicy())
        self.app = build_app(checker, config, api_key, data)
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # uvicorn's own flag, set once it listens
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_prover_serve(folder: Path, *settings: str) -> tuple[subprocess.Popen[str], str]:
    """`prover serve` as a user starts it (over the REPL double, `settings` given with --set), and
    its URL once it answers `GET /health`."""
    (folder / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = [part for setting in (f"lean.workspace={folder}", "lean.certify=never", *settings)
               for part in ("--set", setting)]
    process = subprocess.Popen([sys.executable, "-m", "lean_prover.prover", *options, "serve", "--port", str(port)],
                               cwd=folder, env={**os.environ, "XDG_DATA_HOME": str(folder)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return process, url
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"prover serve did not start: {process.communicate()[1][-2000:]}") from None
            time.sleep(0.2)


@pytest.fixture
def served() -> Iterator[Served]:
    with Served(ServeConfig(max_queue=8)) as running:
        yield running


def test_kimina_client_check_gets_the_repl_answer_and_our_verdict(served: Served) -> None:
    """The axiom example: kimina's "valid" (no error, no sorry) holds for a proof that declares
    `axiom cheat : False` above its theorem; our verdict, beside it, does not."""
    client = KiminaClient(api_url=served.url, n_retries=1)
    snippets = [{"id": "proof", "code": PROOF}, {"id": "axiom", "code": AXIOM}, {"id": "failing", "code": FAILING},
                {"id": "sorry", "code": SORRY}]
    checked = client.check([Snippet(**s) for s in snippets], timeout=60, show_progress=False)
    by_id = {r.id: r for r in checked.results}
    assert [by_id[k].analyze().status for k in ("proof", "axiom", "failing", "sorry")] == [
        SnippetStatus.valid, SnippetStatus.valid, SnippetStatus.lean_error, SnippetStatus.sorry]
    raw = httpx.post(f"{served.url}/api/check", json={"snippets": snippets, "timeout": 60}, timeout=60).json()
    ours = {r["id"]: r["lean_prover"] for r in raw["results"]}
    assert ours["proof"]["valid"] and ours["proof"]["theorems"][0]["outcome"] == "proved"
    assert not ours["axiom"]["valid"] and not ours["failing"]["valid"] and not ours["sorry"]["valid"]
    assert any("axiom" in detail for detail in ours["axiom"]["theorems"][0]["details"]), ours["axiom"]
    failing = next(r for r in raw["results"] if r["id"] == "failing")["response"]
    assert failing["messages"][0]["pos"]["line"] == 4  # the snippet's own line, imports counted


def test_the_legacy_verify_endpoint_answers_in_kiminas_shape(served: Served) -> None:
    body = {"codes": [{"custom_id": "a", "proof": PROOF}, {"custom_id": 7, "code": FAILING}], "timeout": 60}
    answer = httpx.post(f"{served.url}/verify", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    parsed = VerifyResponse.model_validate(answer.json())  # the client's own model reads it
    assert [r["custom_id"] for r in parsed.results] == ["a", "7"]
    first = parsed.results[0].get("response")
    assert first is not None and "time" in first
    assert [r["lean_prover"]["valid"] for r in answer.json()["results"]] == [True, False]


def test_the_first_lean4client_protocol_works_unchanged(served: Served) -> None:
    """What kimina's first `Lean4Client` sends and reads (kimina-lean-server b86e3a9,
    client/client.py; kept, deprecated, in fa662b7's client/kimina/client.py): `GET /` with
    `Bearer None` when it has no key, expecting `{"status": "ok"}`; then `POST /verify` with ids
    of any kind, reading each result's `custom_id`, `error` and `response`."""
    headers = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer None"}
    root = httpx.get(f"{served.url}/", headers=headers, timeout=30)
    assert root.status_code == 200 and root.json() == {"status": "ok"}
    body = {"codes": [{"custom_id": 1, "proof": PROOF}, {"custom_id": "f", "code": FAILING}], "timeout": 60,
            "infotree_type": None, "disable_cache": False}
    results = httpx.post(f"{served.url}/verify", json=body, headers=headers, timeout=60).json()["results"]
    assert [(r["custom_id"], r["error"]) for r in results] == [("1", None), ("f", None)]
    assert not any(m["severity"] == "error" for m in results[0]["response"].get("messages", []))
    assert [m["severity"] for m in results[1]["response"]["messages"]] == ["error"]


DOCUMENTED = "import Mathlib\n\n/-- Two and two. -/\ntheorem t (x : ℕ) (h : x = 2) : x + x = 4 := by\n  subst h\n  norm_num\n"
OPENED = "import Mathlib\nopen Nat\n\n/-- doc -/\ntheorem t (x : ℕ) : x = x := by\n  rfl\n  FAIL\n"


@pytest.mark.parametrize("code, valid", [(PROOF, True), (FAILING, False), (OPENED, False),
                                         (OPENED + "-- done\n\n", False), (DOCUMENTED, True),
                                         (DOCUMENTED + "\ntheorem u : True := by\n  trivial\n", True),
                                         (PROOF + "\ntheorem u : True := by\n  FAIL\n", False)],
                         ids=["proof", "failing", "opened", "comment-after", "documented", "two", "two-failing"])
def test_the_snippets_answer_is_the_run_of_its_last_theorems_check(
    served: Served, code: str, valid: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check of the snippet's last theorem runs the whole snippet (imports blanked) as its
    candidate, and that run is the REPL's answer: the same messages, sorries and info tree, at
    the snippet's own positions, as the snippet run by itself; the snippet is not run again."""
    runs = snippet_runs(served.app.state.service.checker, monkeypatch)
    body = {"snippets": [{"id": "a", "code": code}], "timeout": 60, "infotree": "tactics"}
    result = httpx.post(f"{served.url}/api/check", json=body, timeout=60).json()["results"][0]
    served_answer = result["response"]
    assert runs == [] and result["lean_prover"]["valid"] is valid, result["lean_prover"]

    async def alone() -> dict[str, Any]:
        async with ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy()) as own:
            return (await own.run_snippet(code, "tactics")).to_json_dict()

    expected = asyncio.run(alone())
    assert _positions(served_answer) == _positions(expected)
    lines = code.split("\n")
    for node in served_answer.get("infotree", []):  # each tactic's range names its own text in the snippet
        start, finish = node["node"]["stx"]["range"]["start"], node["node"]["stx"]["range"]["finish"]
        assert lines[start["line"] - 1][start["column"]:finish["column"]] == node["node"]["stx"]["pp"]
    assert ("infotree" in served_answer) == (":= by" in code)


def test_every_proof_deepseek_prover_v2_found_is_answered_from_its_checks_run(shared_data: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The 221 miniF2F proofs of DeepSeek-Prover-V2 as whole files (Mathlib header, `open`s,
    comments, `nlinarith` hints): each passes our checks on the REPL double, and each snippet's
    answer is its check's run, with no run of its own."""
    files = sorted((shared_data / "deepseek-prover-v2-minif2f-proofs" / "valid").glob("*.lean"))
    assert len(files) == 221

    async def scenario() -> tuple[list[str], list[str]]:
        async with ReplChecker(ReplPool(scripted_settings(), 2), Pins.unknown(), GuardPolicy()) as checker:
            service = build_app(checker, ServeConfig()).state.service
            runs = snippet_runs(checker, monkeypatch)
            answers = await asyncio.gather(*(service.answer(f.name, f.read_text(), 60, None) for f in files))
            return runs, [a["id"] for a in answers if not a["lean_prover"]["valid"] or "response" not in a]

    runs, refused = asyncio.run(scenario())
    assert refused == [] and runs == []


def snippet_runs(checker: ReplChecker, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts `checker` runs for a snippet's answer alone (`run_snippet`), as they are run."""
    runs: list[str] = []

    async def counted(text: str, infotree: str | None = None) -> Any:
        runs.append(text)
        return await ReplChecker.run_snippet(checker, text, infotree)

    monkeypatch.setattr(checker, "run_snippet", counted)
    return runs


def _positions(response: dict[str, Any]) -> dict[str, Any]:
    """A REPL answer less what differs between two runs of one text (environment and proof state numbers)."""
    return {key: [{k: v for k, v in item.items() if k != "proofState"} for item in value] if isinstance(value, list)
            else value for key, value in response.items() if key != "env"}


def test_a_snippet_the_guard_refuses_is_run_for_the_repls_answer_and_one_of_two_theorems_is_not(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the verdict runs no candidate that is the whole snippet (the allowlist refused it
    before Lean: an axiom, a sorry; a command follows the last theorem), the snippet runs for its
    answer. Of two theorems, the last one's candidate is the whole snippet: no extra run."""
    runs = snippet_runs(served.app.state.service.checker, monkeypatch)
    two = PROOF + "\ntheorem u : True := by\n  FAIL\n"
    then = PROOF + "\n#check t\n"
    snippets = {"axiom": AXIOM, "sorry": SORRY, "two": two, "then": then}
    body = {"snippets": [{"id": k, "code": v} for k, v in snippets.items()], "timeout": 60}
    results = {r["id"]: r for r in httpx.post(f"{served.url}/api/check", json=body, timeout=60).json()["results"]}
    assert sorted(runs) == sorted([AXIOM, SORRY, then])
    assert [s["pos"]["line"] for s in results["sorry"]["response"]["sorries"]] == [4]
    assert "messages" not in results["axiom"]["response"] or not any(
        m["severity"] == "error" for m in results["axiom"]["response"]["messages"])
    assert [m["pos"]["line"] for m in results["two"]["response"]["messages"]] == [two.split("\n").index("  FAIL") + 1]
    assert [t["passed"] for t in results["two"]["lean_prover"]["theorems"]] == [True, False]


@pytest.mark.parametrize(
    "content, status, detail",
    [
        (b"{not json", 400, "not JSON"),
        (b"\xff\xfe{}", 400, "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested too deeply"),
        (json.dumps({"snippets": [{"id": "a", "code": PROOF}], "colour": "red"}).encode(), 422, "colour"),
        (json.dumps({"snippets": [{"id": "a", "code": PROOF}, {"id": "a", "code": PROOF}]}).encode(), 422, "twice"),
        (json.dumps({"snippets": []}).encode(), 422, "non empty"),
        (json.dumps({"snippets": "x"}).encode(), 422, "snippets"),
        (b"x" * (2 * 2**20), 413, "larger than"),
    ],
)
def test_bad_requests_get_a_clear_4xx_and_the_service_goes_on(content: bytes, status: int, detail: str) -> None:
    with Served(ServeConfig(max_body_mb=1)) as served:
        answer = httpx.post(f"{served.url}/api/check", content=content, headers={"Content-Type": "application/json"},
                            timeout=60)
        assert answer.status_code == status and detail in answer.json()["detail"], answer.text
        after = httpx.post(f"{served.url}/api/check", json={"snippets": [{"id": "a", "code": PROOF}]}, timeout=60)
        assert after.status_code == 200 and after.json()["results"][0]["lean_prover"]["valid"]


def test_an_api_key_is_asked_for_when_configured() -> None:
    with Served(ServeConfig(), api_key=KEY) as served:
        body = {"snippets": [{"id": "a", "code": PROOF}]}
        assert httpx.post(f"{served.url}/api/check", json=body, timeout=60).status_code == 401
        wrong = httpx.post(f"{served.url}/api/check", json=body, headers={"Authorization": "Bearer nope"}, timeout=60)
        assert wrong.status_code == 401 and wrong.json()["detail"] == "Invalid API key"
        client = KiminaClient(api_url=served.url, api_key=KEY, n_retries=1)
        assert client.check(PROOF, show_progress=False).results[0].analyze().status == SnippetStatus.valid


def test_a_full_queue_says_when_to_come_back() -> None:
    with Served(ServeConfig(max_queue=2)) as served:
        body = {"snippets": [{"id": str(i), "code": PROOF} for i in range(3)]}
        answer = httpx.post(f"{served.url}/api/check", json=body, timeout=60)
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
        assert "serve.max_queue is 2" in answer.json()["detail"]


def test_a_hung_snippet_is_cut_at_its_timeout_and_the_repl_replaced(served: Served) -> None:
    hung = "import Mathlib\n\ntheorem t : True := by\n  trivial -- HANG\n"
    body = {"snippets": [{"id": "hung", "code": hung}, {"id": "fine", "code": PROOF}], "timeout": 2}
    started = time.monotonic()
    answer = httpx.post(f"{served.url}/api/check", json=body, timeout=120).json()
    assert time.monotonic() - started < 60  # cut at its limit, not after the hour-long hang
    results = {r["id"]: r for r in answer["results"]}
    assert "timed out" in results["hung"]["error"] and not results["hung"]["lean_prover"]["valid"]
    assert results["fine"]["lean_prover"]["valid"]
    again = httpx.post(f"{served.url}/api/check", json={"snippets": [{"id": "a", "code": PROOF}]}, timeout=60)
    assert again.json()["results"][0]["lean_prover"]["valid"]  # the pool replaced the killed REPL


def test_health_readiness_and_metrics(served: Served) -> None:
    assert httpx.get(f"{served.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{served.url}/ready").json()["status"] == "ready"
    httpx.post(f"{served.url}/api/check", json={"snippets": [{"id": "a", "code": PROOF}]}, timeout=60)
    httpx.post(f"{served.url}/api/check", content=b"{", timeout=60)
    text = httpx.get(f"{served.url}/metrics").text
    assert 'lean_prover_serve_snippets_total{verdict="valid"} 1.0' in text
    assert 'lean_prover_serve_refused_requests_total{status="400"} 1.0' in text
    assert "lean_prover_serve_snippet_seconds_count 1.0" in text
    assert 'lean_prover_serve_repl_events{event="processes_started"}' in text


def test_prover_serve_without_lean_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = run_cli("serve", "--port", "8123", cwd=tmp_path, env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 3 and result.stderr.strip().startswith("error:") and "Lean is not set up" in result.stderr


def test_a_client_that_goes_away_cancels_its_snippets(served: Served) -> None:
    hung = "import Mathlib\n\ntheorem t : True := by\n  trivial -- HANG\n"
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{served.url}/api/check", json={"snippets": [{"id": "h", "code": hung}], "timeout": 600}, timeout=1)
    deadline = time.monotonic() + 30
    while httpx.get(f"{served.url}/ready").json()["admitted"]:  # its snippet is let go, not run for the hour
        assert time.monotonic() < deadline, "the snippet of a client that went away still runs"
        time.sleep(0.1)
    after = httpx.post(f"{served.url}/api/check", json={"snippets": [{"id": "a", "code": PROOF}]}, timeout=60)
    assert after.json()["results"][0]["lean_prover"]["valid"]


def test_sigterm_finishes_and_leaves_no_repl_behind(tmp_path: Path) -> None:
    """`prover serve` as a user starts it: SIGTERM ends it, with every REPL it started gone."""
    import signal

    import psutil

    from tests.test_eval_cli import SCRIPTED

    process, url = start_prover_serve(tmp_path, SCRIPTED, "lean.workers=2")
    try:
        answer = httpx.post(f"{url}/api/check", json={"snippets": [{"id": "a", "code": PROOF}]}, timeout=60)
        assert answer.json()["results"][0]["lean_prover"]["valid"]
        repls = psutil.Process(process.pid).children(recursive=True)
        assert repls, "the check ran on no REPL"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    # uvicorn shuts down gracefully, then ends by the signal it was sent, as is the convention
    assert process.returncode in (0, -signal.SIGTERM), stderr
    assert "serving on http://127.0.0.1:" in stderr and "Traceback" not in stderr
    psutil.wait_procs(repls, timeout=10)
    assert not [p for p in repls if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], "orphan REPL"


def test_our_endpoint_judges_a_proof_of_a_benchmark_problem_or_of_a_given_statement(data_config: DataConfig) -> None:
    """What kimina cannot say: this proof proves that statement, untouched (a registered
    problem's, or one the caller gives with its header), by which tier, with which axioms."""
    with Served(ServeConfig(), data=data_config) as served:
        items = [
            {"id": "bench", "problem": "minif2f:mathd_algebra_478", "proof": "  norm_num\n"},
            {"id": "given", "statement": "theorem demo (x : ℕ) (h : x = 2) : x + x = 4 := by\n",
             "header": "import Mathlib\n", "proof": "  subst h\n  norm_num\n"},
            {"id": "helper", "statement": "theorem demo : True := by\n", "header": "import Mathlib\n",
             "preamble": "axiom cheat : False\n", "proof": "  exact cheat.elim\n"},
            {"id": "failing", "problem": "minif2f:mathd_algebra_478", "proof": "  FAIL\n"},
        ]
        answer = httpx.post(f"{served.url}/prover/check", json={"items": items}, timeout=60)
        assert answer.status_code == 200, answer.text
        results = {r["id"]: r for r in answer.json()["results"]}
        assert results["bench"]["valid"] and results["bench"]["tier"] == "fast"
        assert results["bench"]["axioms"] == ["propext", "Classical.choice", "Quot.sound"]
        assert results["given"]["valid"] and results["given"]["checker"].startswith("repl-guard/3")
        assert not results["helper"]["valid"] and results["helper"]["outcome"] == "guard-rejected"
        assert not results["failing"]["valid"] and results["failing"]["outcome"] == "lean-errors"
        for body, detail in (
            ({"items": [{"id": "x", "problem": "minif2f:no_such_problem", "proof": "  rfl"}]}, "no_such_problem"),
            ({"items": [{"id": "x", "proof": "  rfl"}]}, "give `problem` (DATASET:NAME) or `statement`"),
            ({"items": [{"id": "x", "statement": "example : True := by", "proof": "  trivial"}]}, "not a `theorem NAME"),
            ({"items": [{"id": "x", "problem": "minif2f:mathd_algebra_478", "proof": "  rfl"}], "tier": "certified"},
             "runs no certified tier"),
        ):
            refused = httpx.post(f"{served.url}/prover/check", json=body, timeout=60)
            assert refused.status_code == 422 and detail in refused.json()["detail"], refused.text


def test_grpo_rewards_asked_of_a_service_equal_the_local_ones(tmp_path: Path) -> None:
    """`rl.verifier_url`: the same reward, with Lean behind `prover serve` (ServiceChecker speaks
    the Checker protocol over HTTP); proofs it accepts reach the trainer's proof store."""
    from lean_prover.data.store import ProofStore
    from lean_prover.lean_env.blocking import BlockingChecker
    from lean_prover.lean_env.service_client import ServiceChecker
    from lean_prover.prover.training.config import RLConfig
    from lean_prover.prover.training.reward import LeanReward
    from tests.test_training import PROBLEMS

    completions = ["  subst h\n  simp\n```", "  FAIL\n```", "  sorry\n```", "```"]
    with Served(ServeConfig()) as served, ProofStore(tmp_path / "store.sqlite") as store, \
            BlockingChecker(ServiceChecker(served.url)) as remote:
        reward = LeanReward({p.id: p for p in PROBLEMS}, remote, RLConfig(shaping_lean_errors=0.25), store, model_name="m")
        rewards = reward(prompts=[""] * 4, completions=completions, problem_id=["toy_0"] * 4, prompt_format=["non-cot"] * 4)
        (record,) = store.query()
    assert rewards == [1.0, 0.25, 0.0, 0.0]  # proved; Lean error (shaped); `sorry` (the guard); no proof
    assert record.proof == "  subst h\n  simp\n" and "via the verification service" in record.checker


def test_a_service_that_cannot_be_reached_is_an_environment_failure() -> None:
    import asyncio

    from lean_prover.data.errors import EnvironmentFailure
    from lean_prover.lean_env.service_client import ServiceChecker
    from tests.test_training import PROBLEMS

    async def ask() -> None:
        checker = ServiceChecker("http://127.0.0.1:9")
        try:
            await checker.verify(PROBLEMS[0], "  simp\n")
        finally:
            await checker.close()

    with pytest.raises(EnvironmentFailure, match="cannot be reached"):
        asyncio.run(ask())


def test_train_rl_takes_lean_from_one_place(shared_data: Path, tmp_path: Path) -> None:
    env = {"PROVER_DATA_DIR": str(shared_data), "XDG_DATA_HOME": str(tmp_path)}
    both = run_cli("--set", "rl.verifier_url=http://127.0.0.1:9", "--set", "ray.verifiers=2", "train", "rl",
                   env=env, cwd=tmp_path)
    assert both.returncode == 2 and "set one" in both.stderr, both.stderr


def test_an_answer_problem_is_rewarded_through_the_service_with_its_answer_apart(data_config: DataConfig,
                                                                                tmp_path: Path) -> None:
    """The candidate's answer goes to the service beside the problem's id, never as trusted
    context: the service fills the problem and holds the term to the guard's answer rules."""
    from lean_prover.data.datasets import load_problem
    from lean_prover.lean_env.blocking import BlockingChecker
    from lean_prover.lean_env.service_client import ServiceChecker
    from lean_prover.prover.training.config import RLConfig
    from lean_prover.prover.training.reward import LeanReward
    from tests.test_putnambench import chat_answer

    problem = load_problem("putnambench:putnam_1962_a5", data_config)
    completions = [chat_answer("fun n => n * (n + 1) * 2 ^ (n - 2)"), chat_answer("0\n\naxiom cheat : False"),
                   "no code at all"]
    with Served(ServeConfig(), data=data_config) as served, BlockingChecker(ServiceChecker(served.url)) as remote:
        reward = LeanReward({problem.id: problem}, remote, RLConfig())
        rewards = reward(["p"] * 3, completions, [problem.id] * 3, ["deepseek-v2"] * 3)
    assert rewards == [1.0, 0.0, 0.0]


def test_openrlhf_remote_reward_url_scores_completions_on_the_service(data_config: DataConfig) -> None:
    """OpenRLHF's `--remote_rm_url .../openrlhf/get_reward`: queries are prompt + response, labels
    name the problems; the rewards are those of `prover train rl`."""
    from lean_prover.prover.training.remote_reward import openrlhf_router

    served = Served(ServeConfig(), data=data_config)
    served.app.include_router(openrlhf_router())
    chat = "Here:\n```lean4\nimport Mathlib\n\ntheorem demo (x : ℕ) (h : x = 2) : x + x = 4 := by\n  subst h\n  norm_num\n```"
    statement = json.dumps({"statement": "theorem demo (x : ℕ) (h : x = 2) : x + x = 4 := by\n",
                            "header": "import Mathlib\n"})
    algebra = json.dumps({"problem": "minif2f:mathd_algebra_478", "prompt_format": "non-cot"})
    with served:
        body = {"query": ["PROMPT  norm_num\n```", "PROMPT  FAIL\n```", "Q" + chat],
                "prompts": ["PROMPT", "PROMPT", "Q"], "labels": [algebra, algebra, statement]}
        answer = httpx.post(f"{served.url}/openrlhf/get_reward", json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["rewards"] == [1.0, 0.0, 1.0]
        bad = httpx.post(f"{served.url}/openrlhf/get_reward", json={**body, "labels": ["minif2f:no_such"] * 3}, timeout=60)
        assert bad.status_code == 422 and "no_such" in bad.json()["detail"]
        unlabelled = httpx.post(f"{served.url}/openrlhf/get_reward", json={"query": ["x"]}, timeout=60)
        assert unlabelled.status_code == 422 and "labels" in unlabelled.json()["detail"]
        assert asyncio.run(openrlhf_rollout(f"{served.url}/openrlhf/get_reward", "PROMPT", "  norm_num\n```",
                                            algebra)) == [1.0]
        assert asyncio.run(openrlhf_rollout(f"{served.url}/openrlhf/get_reward", "Q", chat, statement)) == [1.0]
        assert asyncio.run(openrlhf_rollout(f"{served.url}/openrlhf/get_reward", "PROMPT", "  FAIL\n```",
                                            algebra)) == [0.0]


async def openrlhf_rollout(url: str, prompt: str, completion: str, label: str) -> Any:
    """The reward OpenRLHF's own rollout gets (0.11.2, openrlhf/utils/agent.py
    `SingleTurnAgentExecutor.execute` with `--remote_rm_url URL`): it generates, decodes prompt
    and completion together as the query, posts it with its prompt and label, and keeps the
    answer's `rewards`. The engine and tokenizer here are stand-ins (one token a character)."""
    from openrlhf.utils.agent import SingleTurnAgentExecutor

    class Ids(list):
        def tolist(self) -> list[int]:
            return list(self)

    class Tokenizer:
        def __call__(self, text: str, **_: Any) -> dict[str, list[Ids]]:
            return {"input_ids": [Ids(map(ord, text))]}

        def decode(self, ids: list[int], **_: Any) -> str:
            return "".join(map(chr, ids))

    class Engine:
        async def generate(self, prompt_ids: list[int], params: Any, **_: Any) -> Any:
            generated = SimpleNamespace(token_ids=[ord(c) for c in completion], finish_reason="stop", logprobs=None)
            return SimpleNamespace(outputs=[generated])

    sampling = SimpleNamespace(max_tokens=4096, logprobs=None)
    output = await SingleTurnAgentExecutor(url).execute(prompt, label, sampling, 8192, Tokenizer(), Engine())
    return output["reward"]


def test_verl_loads_compute_score_and_it_asks_the_service(data_config: DataConfig, shared_data: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """verl's custom reward function, loaded by verl itself (0.9.1, `get_custom_reward_fn` from
    `reward.custom_reward_function.path` and `.name`) from the file docs/serve.md names, and
    called as its reward manager calls it (verl/experimental/reward_loop/reward_manager/naive.py:
    `data_source`, `solution_str`, `ground_truth`, `extra_info` by keyword)."""
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn

    from lean_prover.prover.training import remote_reward

    settings = {"path": remote_reward.__file__, "name": "compute_score", "reward_kwargs": {}}
    compute_score = get_custom_reward_fn(OmegaConf.create({"reward": {"custom_reward_function": settings}}))
    assert isinstance(compute_score, functools.partial)  # verl's partial(_call_with_kwargs, the function, its kwargs)
    loaded = compute_score.args[0]
    with Served(ServeConfig(), data=data_config) as served:
        monkeypatch.setenv("LEAN_PROVER_URL", served.url)
        monkeypatch.setenv("PROVER_DATA_DIR", str(shared_data))
        try:
            info = {"prompt_format": "non-cot"}
            scores = [compute_score(data_source="minif2f", solution_str=completion,
                                    ground_truth="minif2f:mathd_algebra_478", extra_info=info)
                      for completion in ("  norm_num\n```", "  FAIL\n```")]
            assert scores == [1.0, 0.0]
            given = {"statement": "theorem demo : True := by\n", "header": "import Mathlib\n", "prompt_format": "non-cot"}
            assert compute_score(data_source="mine", solution_str="  trivial\n```", ground_truth=json.dumps(given),
                                 extra_info={}) == 1.0
        finally:
            loaded.__globals__["_service"]().close()  # the module verl loaded holds its own connection


def test_our_endpoint_takes_an_answer_problem_with_its_answer(data_config: DataConfig) -> None:
    """PutnamBench's `putnam_1962_a5` asks for `putnam_1962_a5_solution`: the item's `answer` fills
    it, held to the guard's rules for answers; without one the request is refused."""
    with Served(ServeConfig(), data=data_config) as served:
        url = f"{served.url}/prover/check"
        good = {"id": "a", "problem": "putnambench:putnam_1962_a5", "proof": "by\n  simp\n",
                "answer": "fun n => n * (n + 1) * 2 ^ (n - 2)"}
        smuggled = {**good, "id": "b", "answer": "0\n\naxiom cheat : False"}
        answer = httpx.post(url, json={"items": [good, smuggled]}, timeout=60)
        assert answer.status_code == 200, answer.text
        results = {r["id"]: r for r in answer.json()["results"]}
        assert results["a"]["valid"] and not results["b"]["valid"], results
        missing = httpx.post(url, json={"items": [{**good, "answer": None}]}, timeout=60)
        assert missing.status_code == 422 and "give it in `answer`" in missing.json()["detail"]
        unasked = httpx.post(url, json={"items": [{"id": "c", "problem": "minif2f:mathd_algebra_478",
                                                   "proof": "  norm_num\n", "answer": "3"}]}, timeout=60)
        assert unasked.status_code == 422 and "asks for no answer" in unasked.json()["detail"]


def test_sigterm_lets_the_work_in_flight_finish(tmp_path: Path) -> None:
    """SIGTERM while a check runs (each REPL answer takes 0.3 s): the request gets its whole
    answer, then the service ends."""
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import FAKE_REPL

    slow = f"lean.repl_command={sys.executable} {FAKE_REPL} scripted --latency 0.3"
    process, url = start_prover_serve(tmp_path, slow)
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(httpx.post, f"{url}/api/check", json={"snippets": [{"id": "a", "code": PROOF}]},
                                  timeout=120)
            time.sleep(1.0)  # the check is under way
            process.send_signal(signal.SIGTERM)
            answer = pending.result()
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert answer.status_code == 200 and answer.json()["results"][0]["lean_prover"]["valid"], answer.text
    assert process.returncode in (0, -signal.SIGTERM)


def test_a_port_taken_is_one_line_and_exit_3(tmp_path: Path) -> None:
    from tests.test_eval_cli import SCRIPTED

    (tmp_path / "lean-toolchain").write_text("leanprover/lean4:v4.15.0\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("--set", SCRIPTED, "--set", f"lean.workspace={tmp_path}", "--set", "lean.certify=never",
                         "serve", "--port", str(taken.getsockname()[1]), cwd=tmp_path, env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 3 and "cannot listen on 127.0.0.1:" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("marker", ["DIE_MID_ANSWER", "GARBAGE", "FLOOD"])
def test_a_repl_that_dies_or_garbles_or_floods_is_cut_and_reported_for_its_snippet(served: Served, marker: str) -> None:
    bad = f"import Mathlib\n\ntheorem t : True := by\n  trivial -- {marker}\n"
    body = {"snippets": [{"id": "bad", "code": bad}, {"id": "fine", "code": PROOF}], "timeout": 20}
    answer = httpx.post(f"{served.url}/api/check", json=body, timeout=120)
    assert answer.status_code == 200, answer.text
    results = {r["id"]: r for r in answer.json()["results"]}
    assert "the REPL failed" in results["bad"]["error"] and not results["bad"]["lean_prover"]["valid"]
    assert results["fine"]["lean_prover"]["valid"]
