"""PutnamBench: the loader, problems that ask for an answer (prompt, extraction, guard, check,
comparison with the official answer), and their counts in the summary and the report."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import benchmark_lean_release, load_problems
from lean_prover.data.errors import DataError
from lean_prover.data.problem import Problem, statements_hash
from lean_prover.data.putnambench import load_putnambench
from lean_prover.eval.answers import MATCHES
from lean_prover.eval.evaluate import BenchmarkRun, run_benchmark
from lean_prover.eval.report import load_reports, table
from lean_prover.eval.spec import RunSpec
from lean_prover.lean_env.guard import GuardPolicy, check_answer, check_candidate
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.verdict import GuardRejected, Proved
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from lean_prover.prover.agent import Prover
from lean_prover.prover.extraction import extract, take_answer
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.prompts import build_prompt
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from lean_prover.search.registry import AnswersUnsupportedError, require_answer_support
from tests.conftest import chat_prompt, run_cli, scripted_settings
from tests.doubles.scripted_policy import ScriptedPolicy

ANSWER_PROBLEM = "putnam_1962_a5"  # abbrev …_solution : ℕ → ℕ := sorry, then `-- fun n : ℕ => n * (n + 1) * 2^(n - 2)`
PROOF_PROBLEM = "putnam_1962_a1"


@pytest.fixture(scope="module")
def putnam(shared_data: Path) -> list[Problem]:
    return load_putnambench(shared_data / "putnambench")


def by_id(problems: list[Problem], problem_id: str) -> Problem:
    return next(p for p in problems if p.id == problem_id)


def small_copy(shared_data: Path, folder: Path, names: list[str]) -> Path:
    """A PutnamBench repository layout (lean4/src, lean4/lean-toolchain) with a few problems."""
    source = shared_data / "putnambench"
    (folder / "lean4" / "src").mkdir(parents=True)
    shutil.copy(source / "lean-toolchain", folder / "lean4" / "lean-toolchain")
    for name in names:
        shutil.copy(source / "src" / f"{name}.lean", folder / "lean4" / "src" / f"{name}.lean")
    return folder


def test_every_problem_is_read_and_answers_are_found(putnam: list[Problem]) -> None:
    assert len(putnam) == 672 and len({p.id for p in putnam}) == 672
    asking = [p for p in putnam if p.answer is not None]
    assert len(asking) == 346 and all(p.answer.official for p in asking)  # type: ignore[union-attr]
    problem = by_id(putnam, ANSWER_PROBLEM)
    assert problem.answer is not None and problem.answer.name == "putnam_1962_a5_solution"
    assert problem.answer.official == "fun n : ℕ => n * (n + 1) * 2^(n - 2)"
    start, end = problem.answer.hole
    assert problem.context[start:end] == "sorry" and "n * (n + 1)" not in problem.context  # never prompted
    assert by_id(putnam, PROOF_PROBLEM).answer is None


def test_the_official_answer_is_part_of_the_statement_hash(putnam: list[Problem]) -> None:
    problem = by_id(putnam, ANSWER_PROBLEM)
    assert problem.answer is not None
    changed = replace(problem, answer=replace(problem.answer, official="fun n => n"))
    assert changed.statement_sha256 != problem.statement_sha256
    assert statements_hash([changed]) != statements_hash([problem])


def test_folder_layouts_and_the_lean_pin(shared_data: Path, tmp_path: Path) -> None:
    repository = small_copy(shared_data, tmp_path / "PutnamBench", [ANSWER_PROBLEM, PROOF_PROBLEM])
    for folder in (repository, repository / "lean4", repository / "lean4" / "src"):
        assert [p.id for p in load_putnambench(folder)] == [PROOF_PROBLEM, ANSWER_PROBLEM]
    assert benchmark_lean_release("putnambench", DataConfig(), repository) == "v4.27.0"
    assert benchmark_lean_release("putnambench", DataConfig(download=False)) == "v4.27.0"  # the registry's
    assert benchmark_lean_release("minif2f", DataConfig()) is None
    with pytest.raises(DataError, match="unknown benchmark"):
        benchmark_lean_release("minif2g", DataConfig())
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no PutnamBench .lean files"):
        load_putnambench(tmp_path / "empty")
    with pytest.raises(DataError, match="is not downloaded here"):
        load_problems("putnambench", DataConfig(cache_dir=tmp_path / "cache"))


def test_given_answers_are_filled_in_from_the_official_comment(shared_data: Path) -> None:
    given = by_id(load_putnambench(shared_data / "putnambench", "given"), ANSWER_PROBLEM)
    found = by_id(load_putnambench(shared_data / "putnambench"), ANSWER_PROBLEM)
    assert given.answer is not None and given.answer.given and given.answer_to_find is None
    assert "putnam_1962_a5_solution : ℕ → ℕ := (fun n : ℕ => n * (n + 1) * 2^(n - 2)\n)" in given.context
    assert given.statement_sha256 != found.statement_sha256  # another task, another statement set
    require_answer_support([given], "rmaxts", "non-cot")  # only a proof is asked for: any setup will do
    assert check_candidate(given.formal_statement, "by\n  simp\n", "", GuardPolicy(), answer=given.answer) == []
    (message,) = chat_prompt(build_prompt(given, "deepseek-v2"))
    assert "replace that `sorry`" not in message.content and "n * (n + 1)" in message.content
    assert extract(given, "deepseek-v2", chat_answer("fun n => 0")).answer is None  # the official one stays
    with pytest.raises(DataError, match="data.answers"):
        DataConfig(answers="guess")


def test_an_answer_fills_the_problem_in_parentheses(putnam: list[Problem]) -> None:
    problem = by_id(putnam, ANSWER_PROBLEM)
    filled = problem.with_answer("  fun n => n -- a comment\n")
    assert "putnam_1962_a5_solution : ℕ → ℕ := (fun n => n -- a comment\n)\n" in filled.context
    assert filled.answer is not None and filled.answer.term == "fun n => n -- a comment"
    assert filled.reference_context == problem.context and filled.statement_sha256 == problem.statement_sha256
    assert filled.with_answer("2").context == problem.with_answer("2").context  # refilling starts from the source


@pytest.mark.parametrize(
    "term, rule",
    [
        ("", "answer-missing"),
        ("sorry", "sorry"),
        ("5)\ntheorem t : False := by\n  sorry\n(", "answer-brackets"),
        ("5) (x", "answer-brackets"),
        ("5\ntheorem putnam_1962_a5 : True := trivial", "command"),
        ("(by exact 5)\nopen Foo in", "command"),
        ("Nat.succ #eval 1", "hash-command"),
        ("let x := 1; x /- open", "unterminated"),
    ],
)
def test_an_answer_must_be_one_term(term: str, rule: str) -> None:
    assert rule in {v.rule for v in check_answer(term, GuardPolicy())}


def test_answers_that_are_terms_pass() -> None:
    for term in ("fun n : ℕ => n * (n + 1) * 2^(n - 2)", "{f | ∀ x, f x = 0}", "((1 : ℝ), 2)", "False",
                 "∑ k in Finset.range 3, k", "Real.sqrt 2 / 2"):
        assert check_answer(term, GuardPolicy()) == [], term


def test_a_candidate_without_its_answer_is_rejected(putnam: list[Problem]) -> None:
    problem = by_id(putnam, ANSWER_PROBLEM)
    violations = check_candidate(problem.formal_statement, "by\n  simp\n", "", GuardPolicy(), answer=problem.answer)
    assert [(v.rule, v.part) for v in violations] == [("answer-missing", "answer")]
    filled = problem.with_answer("fun n => sorry")
    violations = check_candidate(problem.formal_statement, "by\n  simp\n", "", GuardPolicy(), answer=filled.answer)
    assert [(v.rule, v.part) for v in violations] == [("sorry", "answer")]


def chat_answer(answer: str, proof: str = "by\n  simp") -> str:
    return ("Here it is.\n```lean4\nimport Mathlib\n\nnoncomputable def helper : ℕ := 3\n\n"
            f"abbrev putnam_1962_a5_solution : ℕ → ℤ :=\n  {answer}\n\n/-- doc -/\n"
            "theorem putnam_1962_a5\n: ∀ n ≥ 2, putnam_1962_a5_solution n = ∑ k ∈ Finset.Icc 1 n, Nat.choose n k * k^2 :=\n"
            f"{proof}\n```")


def test_a_chat_answer_gives_its_answer_apart_from_its_helpers(putnam: list[Problem]) -> None:
    problem = by_id(putnam, ANSWER_PROBLEM)
    extraction = extract(problem, "chat", chat_answer("fun n => n * (n + 1) * 2 ^ (n - 2)"))
    assert extraction.answer == "fun n => n * (n + 1) * 2 ^ (n - 2)"  # the model's `ℤ` is not taken: ours fixes T
    assert "noncomputable def helper" in extraction.preamble and "putnam_1962_a5_solution" not in extraction.preamble
    assert take_answer("def other : ℕ := 1\n", "putnam_1962_a5_solution") == (None, "def other : ℕ := 1\n")
    # A problem that asks for no answer keeps such a declaration among its helpers.
    plain = replace(problem, answer=None)
    assert extract(plain, "chat", chat_answer("fun n => n")).answer is None


def test_prompts_state_what_to_fill_and_never_the_official_answer(putnam: list[Problem]) -> None:
    problem = by_id(putnam, ANSWER_PROBLEM)
    (message,) = chat_prompt(build_prompt(problem, "deepseek-v2"))
    assert "putnam_1962_a5_solution : ℕ → ℕ := sorry" in message.content
    assert "replace that `sorry` with the answer" in message.content and "n * (n + 1)" not in message.content
    (plain,) = chat_prompt(build_prompt(by_id(putnam, PROOF_PROBLEM), "deepseek-v2"))
    assert "replace that `sorry`" not in plain.content


def test_setups_that_cannot_give_an_answer_are_refused_before_any_work(putnam: list[Problem]) -> None:
    asking = [by_id(putnam, ANSWER_PROBLEM), by_id(putnam, PROOF_PROBLEM)]
    with pytest.raises(AnswersUnsupportedError, match="putnam_1962_a5 ask for an answer, which --algorithm rmaxts"):
        require_answer_support(asking, "rmaxts", "deepseek-v2")
    with pytest.raises(AnswersUnsupportedError, match="completion format non-cot only continues a proof"):
        require_answer_support(asking, "sample", "non-cot")
    require_answer_support(asking, "sample", "deepseek-v2")
    require_answer_support([by_id(putnam, PROOF_PROBLEM)], "rmaxts", "non-cot")


def test_the_verifier_checks_the_answer_with_the_proof(putnam: list[Problem]) -> None:
    """The real verifier over the scripted REPL: the answer goes into the problem's own
    declaration; without one, or with a term that is not one, nothing reaches Lean."""
    problem = by_id(putnam, ANSWER_PROBLEM)

    async def check(answer: str) -> object:
        prover = Prover(ScriptedPolicy([]), PolicyConfig(prompt_format="deepseek-v2"),
                        ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy()))
        try:
            return await prover.check(problem, extract(problem, "deepseek-v2", chat_answer(answer)))
        finally:
            await prover.close()

    assert isinstance(asyncio.run(check("fun n => n * (n + 1) * 2 ^ (n - 2)")), Proved)
    for escape in ("1) (2", "1)\n  theorem putnam_1962_a5 : True := trivial\n  (2"):
        rejected = asyncio.run(check(escape))
        assert isinstance(rejected, GuardRejected) and "answer" in {v.part for v in rejected.violations}, escape


def test_a_run_counts_both_tasks_and_compares_answers(putnam: list[Problem], tmp_path: Path) -> None:
    """Whole-proof sampling over one answer problem and one proof-only problem, on the scripted
    REPL (which accepts what has no failure marker): the answer's comparison with the official
    one is recorded, and the summary and the report count the two tasks apart."""
    problems = [by_id(putnam, ANSWER_PROBLEM), by_id(putnam, PROOF_PROBLEM)]
    outputs = [chat_answer("fun n => n * (n + 1) * 2 ^ (n - 2)")]

    def make_prover() -> Prover:
        return Prover(ScriptedPolicy(outputs), PolicyConfig(model="scripted", prompt_format="deepseek-v2"),
                      ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy()))

    spec = RunSpec("putnambench", None, Budget(1), SearchConfig(algorithm="sample", concurrency=1),
                   PolicyConfig(model="scripted", prompt_format="deepseek-v2"))
    run = BenchmarkRun(spec, problems, tmp_path / "run", make_prover, store_path=tmp_path / "store.sqlite",
                       show_progress=False, config={"data": {"answers": "find"}},
                       pins={"lean_toolchain": "leanprover/lean4:v4.27.0", "mathlib_rev": "m1", "repl_rev": "r1"})
    summary = run_benchmark(run)
    results = {r["problem"]: r for r in map(json.loads, (tmp_path / "run" / "results.jsonl").read_text().splitlines())}
    answered = results[ANSWER_PROBLEM]
    assert answered["proved"] and answered["asks_answer"] and answered["answer_check"] == MATCHES
    assert answered["answer"] == "fun n => n * (n + 1) * 2 ^ (n - 2)"
    assert summary.answers is not None
    assert (summary.answers.searches, summary.answers.proved, summary.answers.matches) == (1, 1, 1)
    assert summary.answers.proof_only_searches == 1
    report = table(load_reports([tmp_path / "run"]))
    assert "answer and proof (the prover gave the answers): 1 of 1 proved, of which the answer matches the official " \
           "one in 1, differs in 0, and could not be compared in 0." in report
    assert f"proof only: {summary.answers.proof_only_proved} of 1 searches proved" in report
    assert "Lean: leanprover/lean4:v4.27.0, Mathlib m1, REPL r1" in report
    assert "| DeepSeek-Prover-V2-671B | putnambench |" in report  # the published anchors, with sources


def test_data_stats_counts_problems_and_answers(shared_data: Path) -> None:
    result = run_cli("data", "stats", "putnambench", "--path", str(shared_data / "putnambench"),
                     env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    total = next(line for line in result.stdout.splitlines() if "total" in line)
    assert "672" in total and "346" in total


def test_a_run_with_the_official_answers_given_counts_them_as_such(shared_data: Path, tmp_path: Path) -> None:
    problems = [by_id(load_putnambench(shared_data / "putnambench", "given"), ANSWER_PROBLEM)]

    def make_prover() -> Prover:
        return Prover(ScriptedPolicy([chat_answer("fun n => 0")]), PolicyConfig(model="scripted", prompt_format="chat"),
                      ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy()))

    spec = RunSpec("putnambench", None, Budget(1), SearchConfig(algorithm="sample", concurrency=1),
                   PolicyConfig(model="scripted", prompt_format="chat"))
    summary = run_benchmark(BenchmarkRun(spec, problems, tmp_path / "run", make_prover, show_progress=False,
                                         config={"data": {"answers": "given"}}))
    assert summary.answers is not None and (summary.answers.searches, summary.answers.proved) == (1, 1)
    (result,) = map(json.loads, (tmp_path / "run" / "results.jsonl").read_text().splitlines())
    assert result["answer"] is None and result["answer_check"] == ""  # the official answer: nothing to compare
    assert "answer and proof (the official answers were given): 1 of 1 proved." in table(load_reports([tmp_path / "run"]))


def test_a_chat_answer_that_restates_the_files_definitions_keeps_only_its_own_helpers(putnam: list[Problem]) -> None:
    """putnam_1997_b1's file defines `dist_to_int`; a model that copies it back into its answer
    would declare it twice. The copy is dropped (the file's own definition is the one checked);
    the model's other helpers, and their doc comments, stay."""
    problem = by_id(putnam, "putnam_1997_b1")
    assert "noncomputable def dist_to_int" in problem.context
    statement = problem.formal_statement.rstrip()
    answer = ("```lean4\nimport Mathlib\n\nopen Real\n\nabbrev putnam_1997_b1_solution : ℕ → ℝ := fun n => n\n"
              "noncomputable def dist_to_int : ℝ → ℝ := fun r => |r - round r|\n\n/-- mine -/\n"
              f"lemma my_helper : True := trivial\n\n{statement}\nby\n  simp\n```")
    extraction = extract(problem, "deepseek-v2", answer)
    assert extraction.answer == "fun n => n" and "dist_to_int" not in extraction.preamble
    assert "/-- mine -/\nlemma my_helper : True := trivial" in extraction.preamble and "open Real" in extraction.preamble


def test_rl_rewards_an_answer_problem_proved_with_its_answer(putnam: list[Problem], tmp_path: Path) -> None:
    """GRPO's reward checks as every search does: the completion's answer fills the problem
    (before, the reward never filled it, and every answer problem scored 0 as answer-missing)."""
    from lean_prover.data.store import ProofStore
    from lean_prover.lean_env.blocking import BlockingChecker
    from lean_prover.prover.training.config import RLConfig
    from lean_prover.prover.training.reward import LeanReward

    problem = by_id(putnam, ANSWER_PROBLEM)
    completions = [chat_answer("fun n => n * (n + 1) * 2 ^ (n - 2)"), "no code at all"]
    with ProofStore(tmp_path / "store.sqlite") as store, \
            BlockingChecker(ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy())) as checker:
        reward = LeanReward({problem.id: problem}, checker, RLConfig(), store)
        rewards = reward(["p", "p"], completions, [problem.id] * 2, ["deepseek-v2"] * 2)
        (record,) = store.query()
    assert rewards == [1.0, 0.0]
    assert "n * (n + 1) * 2 ^ (n - 2)" in record.context  # the proof is kept with the answer it proves


def test_train_rl_refuses_answer_problems_with_a_completion_format(shared_data: Path, tmp_path: Path) -> None:
    result = run_cli("--set", "rl.dataset=putnambench", "--set", "rl.split=", "--set", "rl.prompt_formats=non-cot",
                     "train", "rl", env={"PROVER_DATA_DIR": str(shared_data), "XDG_DATA_HOME": str(tmp_path)}, cwd=tmp_path)
    assert result.returncode == 2 and "only continues a proof" in result.stderr, result.stderr
