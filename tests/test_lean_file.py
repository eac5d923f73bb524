from __future__ import annotations

from pathlib import Path

import pytest

from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import find_sorry_theorems, load_lean_file

HEADER = "import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat\n\n"
BODY = '''/-- The first one. -/
theorem first (a b : ℕ) (h : a = b) : b = a := by
  sorry

def double (n : ℕ) : ℕ := 2 * n

-- A proved lemma is not a problem, even though this comment says sorry.
lemma proved : double 1 = 2 := by
  rfl

@[simp] private lemma second : double 2 = 4 := sorry

theorem partial_proof (x : ℕ) : x + 0 = x := by
  simp
  sorry

theorem third {f : ℕ → ℕ} (hf : ∀ x, f x = x) :
    f (f 3) = 3 := by sorry
'''


@pytest.fixture
def three_sorries(tmp_path: Path) -> Path:
    path = tmp_path / "three.lean"
    path.write_text(HEADER + BODY, encoding="utf-8")
    return path


def test_three_sorry_theorems_become_three_problems(three_sorries: Path) -> None:
    problems = load_lean_file(three_sorries)
    assert [p.name for p in problems] == ["first", "second", "third"]
    assert all(p.header == HEADER for p in problems)
    first, second, third = problems
    assert first.informal_prefix == "/-- The first one. -/\n"
    assert first.formal_statement == "theorem first (a b : ℕ) (h : a = b) : b = a := by\n"
    assert first.context == ""
    # Attributes and modifiers belong to the statement; term-mode `:= sorry` is found too.
    assert second.formal_statement == "@[simp] private lemma second : double 2 = 4 :="
    # Later theorems carry the definitions before them as context.
    assert "def double" in second.context and "def double" in third.context
    assert third.formal_statement == "theorem third {f : ℕ → ℕ} (hf : ∀ x, f x = x) :\n    f (f 3) = 3 := by"
    assert third.source == f"{three_sorries}:24"  # 7 header lines + 17


def test_pieces_reassemble_the_file_byte_for_byte(three_sorries: Path) -> None:
    text = three_sorries.read_text(encoding="utf-8")
    for theorem in find_sorry_theorems(three_sorries):
        p = theorem.problem
        start, end = theorem.proof_span
        assert p.header + p.context + p.informal_prefix + p.formal_statement + text[start:end] == text[:end]
        assert text[start:end].strip() in ("sorry", "by sorry")


def test_open_in_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "open_in.lean"
    path.write_text("import Mathlib\nopen Nat in\ntheorem t : 1 = 1 := by sorry\n", encoding="utf-8")
    (problem,) = load_lean_file(path)
    assert problem.header == "import Mathlib\n"
    assert problem.context == "open Nat in\n"


def test_repeated_names_get_distinct_ids(tmp_path: Path) -> None:
    path = tmp_path / "namespaces.lean"
    path.write_text(
        "namespace A\ntheorem t : True := by sorry\nend A\nnamespace B\ntheorem t : True := by sorry\nend B\n",
        encoding="utf-8",
    )
    assert [p.id for p in load_lean_file(path)] == ["t#1", "t#2"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"theorem t : True := by\n  trivial\n", "no theorem or lemma whose proof is `sorry`"),
        (b"-- only sorry in a comment\n", "no theorem or lemma whose proof is `sorry`"),
        (b"theorem t : True := by sorry\n\xff\xfe\n", ":2: not UTF-8"),
        (b"/- unclosed\ntheorem t : True := by sorry\n", ":1: cannot read this Lean file"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.lean"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as error:
        load_lean_file(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_lean_file(tmp_path / "absent.lean")


PUTNAM_STYLE = """import Mathlib

open Set

abbrev t_solution : ℕ → ℝ := sorry
-- fun n => n
/-- The informal statement. -/
theorem t
(a b : ℝ)
(M : Matrix (Fin 2) (Fin 2) ℝ)
(h : ∀ x : ℝ, |a * x| ≤ |b * x|)
: |a| ≤ |b| ∧
M.det = t_solution 2 :=
sorry

theorem u : True := by
  sorry
alias u' := u
"""


def test_declarations_written_in_column_0_are_read_whole(tmp_path: Path) -> None:
    """PutnamBench writes binders, the type's colon and last line, and `sorry` in column 0, and
    `|x|` in types; the declaration still ends at the next command only."""
    path = tmp_path / "putnam.lean"
    path.write_text(PUTNAM_STYLE)
    first, second = find_sorry_theorems(path)
    assert first.problem.name == "t" and first.problem.formal_statement.endswith("M.det = t_solution 2 :=\n")
    assert first.problem.context.startswith("abbrev t_solution") and first.problem.informal_prefix == "/-- The informal statement. -/\n"
    assert PUTNAM_STYLE[first.proof_span[0] : first.proof_span[1]] == "sorry"
    assert second.problem.name == "u" and second.is_sorry


def test_putnambench_files_are_read(shared_data: Path) -> None:
    files = sorted((shared_data / "putnambench" / "src").glob("*.lean"))
    assert len(files) == 672
    for file in files:
        (theorem,) = find_sorry_theorems(file)
        assert theorem.problem.name == file.stem and theorem.is_sorry


def test_a_let_in_the_type_keeps_its_own_assignment(tmp_path: Path) -> None:
    """`let (a, n) := an; ...` in a type (15 PutnamBench files): the proof's `:=` is the one after."""
    path = tmp_path / "let.lean"
    path.write_text("theorem t\n: ∃! an : ℤ × ℕ, let (a, n) := an; a > 0 ∧ n > 0 :=\nsorry\n\n"
                    "theorem s (h : have x := 1; x = 1) :\n  let y := 2\n  y = 2 := by\n  sorry\n")
    first, second = find_sorry_theorems(path)
    assert first.problem.formal_statement.endswith("a > 0 ∧ n > 0 :=\n") and first.is_sorry
    assert second.problem.formal_statement.endswith("y = 2 := by\n") and second.is_sorry


def test_the_reader_keeps_offsets_not_copies_and_each_problem_is_made_on_demand() -> None:
    """Reading is linear in memory: a theorem keeps the file's one text and offsets into it;
    its problem (whose context is all the text before it) is made when asked for."""
    from lean_prover.data.lean_file import LeanFile

    text = HEADER + BODY * 3
    file = LeanFile.parse(text, "many.lean")
    assert all(theorem.text is file.text for theorem in file.theorems)
    assert all("context" not in vars(theorem) for theorem in file.theorems)
    last = file.theorems[-1]
    assert last.problem == last.problem and last.problem is not last.problem
    assert last.problem.context == text[len(HEADER) : last.prefix_start]
    assert last.context_length == len(last.problem.context)
    # end_line is the line the proof ends on, counted the way Lean numbers lines
    for theorem in file.theorems:
        assert theorem.end_line == text.count("\n", 0, theorem.proof_span[1]) + 1
        assert theorem.line == int(theorem.problem.source.rpartition(":")[2])
    assert [t.id for t in file.theorems][:2] == ["first#1", "proved#1"]
    assert file.theorem("third#3") is file.theorems[-1]


def test_a_run_that_would_hold_too_much_context_is_refused_with_its_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lean_prover.data import lean_file
    from lean_prover.data.datasets import load_lean_folder

    path = tmp_path / "big.lean"
    path.write_text(HEADER + BODY * 20, encoding="utf-8")
    held = sum(t.context_length for t in find_sorry_theorems(path))
    monkeypatch.setattr(lean_file, "MAX_CONTEXT_CHARACTERS", held - 1)
    with pytest.raises(DataError, match=r"big.lean: its 60 theorems would hold .* Mi characters of context.*split the file"):
        load_lean_file(path)
    with pytest.raises(DataError, match="split the file"):
        load_lean_folder(tmp_path)
    monkeypatch.setattr(lean_file, "MAX_CONTEXT_CHARACTERS", held)
    assert len(load_lean_file(path)) == 60
    (tmp_path / "second.lean").write_text(HEADER + BODY, encoding="utf-8")  # the folder's total counts
    with pytest.raises(DataError, match="second.lean"):
        load_lean_folder(tmp_path)


def test_out_of_memory_is_one_line_and_exit_code_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from lean_prover.prover.cli import app

    def exhausted() -> None:
        raise MemoryError

    monkeypatch.setattr(app, "app", exhausted)
    with pytest.raises(SystemExit) as stopped:
        app.main()
    assert stopped.value.code == 3
    assert capsys.readouterr().err.startswith("error: out of memory;")
