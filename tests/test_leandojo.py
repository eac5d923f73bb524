"""LeanDojo Benchmark 4, read from small files in its documented format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lean_prover.data.config import DataConfig
from lean_prover.data.datasets import load_problems
from lean_prover.data.errors import DataError
from lean_prover.data.leandojo import benchmark_problems, read_benchmark, tactic_pairs
from tests.conftest import run_cli

BASIC = """import Mathlib.Order.Basic

namespace Demo

variable {α : Type*} [PartialOrder α]

theorem le_refl' (a : α) : a ≤ a := by
  exact le_refl a

/-- Doc. -/
@[simp]
theorem two_steps (a b : α) (h : a ≤ b) : a ≤ b := by
  have h' := h
  exact h'

end Demo
"""


def traced(full_name: str, start: list[int], end: list[int], tactics: list[tuple[str, str, str]]) -> dict:
    return {
        "url": "https://github.com/leanprover-community/mathlib4", "commit": "abc123",
        "file_path": "Mathlib/Demo/Basic.lean", "full_name": full_name, "start": start, "end": end,
        "traced_tactics": [{"tactic": t, "annotated_tactic": [t, []], "state_before": b, "state_after": a}
                           for t, b, a in tactics],
    }


@pytest.fixture
def benchmark(tmp_path: Path) -> Path:
    folder = tmp_path / "leandojo_benchmark_4"
    (folder / "random").mkdir(parents=True)
    (folder / "novel_premises").mkdir()
    train = [traced("Demo.le_refl'", [7, 1], [8, 18], [("exact le_refl a", "a : α\n⊢ a ≤ a", "no goals")])]
    test = [traced("Demo.two_steps", [10, 1], [14, 11],
                   [("have h' := h", "h : a ≤ b\n⊢ a ≤ b", "h h' : a ≤ b\n⊢ a ≤ b"),
                    ("exact h'", "h h' : a ≤ b\n⊢ a ≤ b", "no goals")]),
            traced("Demo.gone", [40, 1], [41, 5], [])]
    (folder / "random" / "train.json").write_text(json.dumps(train))
    (folder / "random" / "val.json").write_text("[]")
    (folder / "random" / "test.json").write_text(json.dumps(test))
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "mathlib4" / "Mathlib" / "Demo").mkdir(parents=True)
    (tmp_path / "mathlib4" / "Mathlib" / "Demo" / "Basic.lean").write_text(BASIC)
    return tmp_path / "mathlib4"


def test_theorems_and_their_tactic_pairs(benchmark: Path) -> None:
    theorems = read_benchmark(benchmark)
    assert [(t.full_name, t.split, len(t.tactics)) for t in theorems] == [
        ("Demo.le_refl'", "train", 1), ("Demo.two_steps", "test", 2), ("Demo.gone", "test", 0)]
    pairs = list(tactic_pairs(theorems))
    assert pairs[1] == {"theorem": "Demo.two_steps", "split": "test", "state": "h : a ≤ b\n⊢ a ≤ b",
                        "tactic": "have h' := h", "state_after": "h h' : a ≤ b\n⊢ a ≤ b"}


def test_statements_come_from_the_checkout(benchmark: Path, repo: Path) -> None:
    found = benchmark_problems(read_benchmark(benchmark), repo)
    first, second = found.problems
    assert (first.id, first.name, first.split) == ("Demo.le_refl'", "le_refl'", "train")
    assert first.formal_statement == "theorem le_refl' (a : α) : a ≤ a := by\n"
    assert first.header == "import Mathlib.Order.Basic\n\n" and "variable {α : Type*}" in first.context
    assert first.goal == "a : α\n⊢ a ≤ a"
    assert second.id == "Demo.two_steps" and second.formal_statement.startswith("@[simp]\ntheorem two_steps")
    assert "exact le_refl a" in second.context  # everything before it in its file, as Lean reads it
    assert found.missing == ["Demo.gone: no theorem gone at lines 40-41 of Mathlib/Demo/Basic.lean"]


def test_as_a_dataset_it_needs_the_checkout(benchmark: Path, repo: Path) -> None:
    with pytest.raises(DataError, match="set data.source_repo to a checkout of .* at commit abc123"):
        load_problems("leandojo", DataConfig(), path=benchmark)
    problems = load_problems("leandojo", DataConfig(source_repo=repo), path=benchmark, split="test")
    assert [p.id for p in problems] == ["Demo.two_steps"]
    with pytest.raises(DataError, match="novel_premises: no train.json, val.json, test.json"):
        read_benchmark(benchmark, "novel_premises")
    (benchmark / "random" / "val.json").write_text('[{"full_name": 1}]')
    with pytest.raises(DataError, match="val.json: not in LeanDojo Benchmark 4's format"):
        read_benchmark(benchmark)


def test_the_command_counts_and_writes_the_pairs(benchmark: Path, repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    result = run_cli("data", "leandojo", str(benchmark), "--repo", str(repo), "--tactics", str(out),
                     env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    test_row = next(line for line in result.stdout.splitlines() if "test" in line and "│" in line)
    assert [cell.strip() for cell in test_row.split("│")[1:-1]] == ["test", "2", "2", "1"]
    assert "wrote 3 (state, tactic) pairs" in result.stderr and len(out.read_text().splitlines()) == 3
    assert "1 theorems have no statement" in result.stderr


def test_a_trace_is_written_as_the_benchmark_reads_it(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`prover trace`'s plumbing, with LeanDojo's tracer stood in for (the real one needs Lean):
    what it writes reads back as theorems, tactic pairs and problems."""
    from types import SimpleNamespace

    import lean_dojo

    from lean_prover.lean_env.tracing import trace_repository

    def pos(line: int, column: int) -> SimpleNamespace:
        return SimpleNamespace(line_nb=line, column_nb=column)

    tactic = SimpleNamespace(tactic="exact le_refl a", state_before="a : α\n⊢ a ≤ a", state_after="no goals")
    theorem = SimpleNamespace(theorem=SimpleNamespace(file_path=Path("Mathlib/Demo/Basic.lean"), full_name="Demo.le_refl'"),
                              start=pos(7, 1), end=pos(8, 18), get_traced_tactics=lambda: [tactic])
    checkout = SimpleNamespace(url="https://example.org/demo", commit="f00")

    class FakeRepo:
        @staticmethod
        def from_path(path: Path) -> SimpleNamespace:
            assert path == repo
            return checkout

    monkeypatch.setattr(lean_dojo, "LeanGitRepo", FakeRepo)
    monkeypatch.setattr(lean_dojo, "trace", lambda traced_repo: SimpleNamespace(get_traced_theorems=lambda: [theorem]))
    result = trace_repository(str(repo), None, tmp_path / "trace")
    assert (result.theorems, result.tactics) == (1, 1)
    (read,) = read_benchmark(tmp_path / "trace")
    assert (read.full_name, read.split, read.commit) == ("Demo.le_refl'", "test", "f00")
    (problem,) = benchmark_problems([read], repo).problems
    assert problem.formal_statement == "theorem le_refl' (a : α) : a ≤ a := by\n"


def test_tracing_a_url_needs_a_commit(tmp_path: Path) -> None:
    result = run_cli("trace", "https://github.com/leanprover-community/mathlib4", "--out", str(tmp_path / "t"))
    assert result.returncode == 2 and "give --commit" in result.stderr


@pytest.mark.lean
def test_a_real_repository_is_traced(tmp_path: Path) -> None:
    """With a real Lean: a one-theorem Lake project, traced by LeanDojo, reads back as a problem."""
    import subprocess

    from lean_prover.lean_env.tracing import trace_repository

    project = tmp_path / "Tiny"
    project.mkdir()
    workspace = Path(__import__("os").environ["PROVER_LEAN_WORKSPACE"])
    (project / "lean-toolchain").write_text((workspace / "lean-toolchain").read_text())
    (project / "lakefile.toml").write_text('name = "Tiny"\ndefaultTargets = ["Tiny"]\n\n[[lean_lib]]\nname = "Tiny"\n')
    (project / "Tiny.lean").write_text("theorem tiny (n : Nat) : n + 0 = n := by\n  simp\n")
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "-c", "user.name=t", "-c", "user.email=t@t",
                                                                 "commit", "-qm", "tiny"]):
        subprocess.run(command, cwd=project, check=True)
    trace_repository(str(project), None, tmp_path / "trace")
    (theorem,) = [t for t in read_benchmark(tmp_path / "trace") if t.full_name == "tiny"]
    assert [step.tactic for step in theorem.tactics] == ["simp"]
    assert [p.id for p in benchmark_problems([theorem], project).problems] == ["tiny"]


def test_traced_steps_are_trained_as_best_first_search_prompts_them(benchmark: Path, repo: Path) -> None:
    from dataclasses import replace as changed

    from lean_prover.prover.prompts import Resume, build_prompt
    from lean_prover.prover.training.config import SFTConfig, TrainingConfigError
    from lean_prover.prover.training.sft import tactic_split

    theorems = read_benchmark(benchmark)
    theorems = [changed(t, split="val") if t.full_name == "Demo.two_steps" else t for t in theorems]
    problems = benchmark_problems(theorems, repo).problems
    split = tactic_split(problems, theorems, "non-cot", comment=True)
    (only,) = split.train
    first = next(p for p in problems if p.id == "Demo.le_refl'")
    assert only == {"prompt": build_prompt(first, "non-cot", resume=Resume("", "a : α\n⊢ a ≤ a", "  ")),
                     "completion": "exact le_refl a\n"}
    second = split.held_out[1]  # the val split is held out; each step's prompt holds the tactics before it
    assert second["prompt"].endswith("  have h' := h\n  /- tactic state:\n    h h' : a ≤ b\n    ⊢ a ≤ b\n  -/\n")
    assert second["completion"] == "exact h'\n"
    without = tactic_split(problems, theorems, "non-cot", comment=False)
    assert "tactic state" not in without.train[0]["prompt"]
    with pytest.raises(TrainingConfigError, match="chat format"):
        SFTConfig(prompt_format="deepseek-v2", tactic_data=benchmark).validate()


def test_tracing_a_missing_folder_says_so(tmp_path: Path) -> None:
    result = run_cli("trace", str(tmp_path / "nowhere"), "--out", str(tmp_path / "t"))
    assert result.returncode == 2 and "nowhere: no such folder" in result.stderr and "--commit" not in result.stderr.split(";")[0]
