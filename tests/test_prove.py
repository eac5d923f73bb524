"""`prover prove FILE.lean`: proofs go in place of `sorry`, every other byte stays."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lean_prover.data.errors import DataError
from lean_prover.data.lean_file import LeanFile
from lean_prover.data.problem import Problem
from lean_prover.eval.prove_file import ProveJob, ProveReport, prove_file
from lean_prover.eval.spec import RunSpec
from lean_prover.lean_env.protocol import Message, Pos
from lean_prover.lean_env.checker import Checker
from lean_prover.lean_env.verdict import LeanRun, Verdict
from lean_prover.prover.agent import Prover
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from tests.doubles.checker_double import CheckerDouble
from tests.doubles.scripted_policy import ScriptedPolicy
from tests.doubles.scripted_verifier import ScriptedVerifier

HEAD = "import Mathlib\nopen Nat\n\n/-- The first one. -/\ntheorem one (n : ℕ) : n + 0 = n := by\n"
MIDDLE_1 = "\n\n-- a comment that says sorry\ndef helper (n : ℕ) : ℕ := n + 1  -- sorry in a comment\n\ntheorem two : True := by\n"
MIDDLE_2 = "\n\nlemma three (a b : ℕ) (h : a = b) :\n    b = a := by\n"
TAIL = "\ntheorem proved_already : 1 = 1 := by\n  rfl\n\nexample : True := trivial\n"
ORIGINAL = HEAD + "  sorry" + MIDDLE_1 + "  sorry" + MIDDLE_2 + "  sorry" + TAIL
PROOF = "  a\n  done"


class FileChecker(CheckerDouble):
    """A Checker whose check of the whole file gives scripted messages and keeps what it was
    given; its proof checks (a stored proof's recheck) go to `inner`."""

    def __init__(self, messages: tuple[Message, ...] = (), inner: Checker | None = None) -> None:
        self.messages = messages
        self.inner = inner
        self.checked: list[str] = []

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None,
                     preamble: str = "") -> Verdict:
        assert self.inner is not None, "give FileChecker the checker of its proofs"
        return await self.inner.verify(problem, proof, restated_statement, preamble)

    async def check_source(self, text: str) -> LeanRun:
        self.checked.append(text)
        return LeanRun(messages=self.messages)


def job(file: Path, tmp_path: Path, theorem: str | None = None, samples: int = 4) -> ProveJob:
    spec = RunSpec(str(file), None, Budget(samples), SearchConfig(algorithm="sample", concurrency=1),
                   PolicyConfig(model="scripted"))
    return ProveJob(LeanFile.read(file), file.with_name("out.lean"), spec, theorem, tmp_path / "store.sqlite",
                    show_progress=False)


def run(the_job: ProveJob, outputs: list[str], checker: FileChecker | None = None) -> ProveReport:
    prover = Prover(ScriptedPolicy(outputs), PolicyConfig(), ScriptedVerifier())
    checker = checker or FileChecker()
    checker.inner = prover.verifier
    return asyncio.run(prove_file(the_job, prover, checker))


@pytest.fixture
def lean_file(tmp_path: Path) -> Path:
    path = tmp_path / "three.lean"
    path.write_bytes(ORIGINAL.encode())
    return path


def test_three_sorry_theorems_are_proved_in_place_and_nothing_else_changes(lean_file: Path, tmp_path: Path) -> None:
    checker = FileChecker()
    report = run(job(lean_file, tmp_path), ["  bad\n```", PROOF + "\n```"], checker)
    assert report.all_proved and [t.id for t in report.theorems] == ["one", "two", "three"]
    written = lean_file.with_name("out.lean").read_bytes().decode()
    assert written == HEAD + PROOF + MIDDLE_1 + PROOF + MIDDLE_2 + PROOF + TAIL
    assert lean_file.read_bytes().decode() == ORIGINAL  # not --in-place: the input is untouched
    assert checker.checked == [written]  # Lean checked the whole file, as written
    assert all(t.how == "searched" and t.samples >= 1 for t in report.theorems)


def test_each_version_of_the_text_is_parsed_once(lean_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read once, then once after each splice; searching and the final check parse nothing."""
    import lean_prover.data.lean_file as lean_file_module

    the_job = job(lean_file, tmp_path)
    parsed: list[str] = []
    real_parse = lean_file_module.parse_theorems
    def parse_counted(text: str, source: str) -> object:
        parsed.append(text)
        return real_parse(text, source)

    monkeypatch.setattr(lean_file_module, "parse_theorems", parse_counted)
    report = run(the_job, [PROOF + "\n```"])
    assert report.all_proved and len(parsed) == 3 and len(set(parsed)) == 3  # one parse per splice


def test_one_named_theorem(lean_file: Path, tmp_path: Path) -> None:
    report = run(job(lean_file, tmp_path, theorem="two"), [PROOF + "\n```"])
    assert [t.id for t in report.theorems] == ["two"]
    assert lean_file.with_name("out.lean").read_text() == HEAD + "  sorry" + MIDDLE_1 + PROOF + MIDDLE_2 + "  sorry" + TAIL


def test_a_second_run_takes_the_proofs_from_the_store(lean_file: Path, tmp_path: Path) -> None:
    run(job(lean_file, tmp_path), [PROOF + "\n```"])
    report = run(job(lean_file, tmp_path), ["  bad\n```"])  # a policy that never proves anything
    assert report.all_proved and all(t.how == "from the proof store" and t.samples == 0 for t in report.theorems)


def test_unproved_theorems_keep_their_sorry_and_fail(lean_file: Path, tmp_path: Path) -> None:
    report = run(job(lean_file, tmp_path, samples=2), ["  bad\n```"])
    assert not report.all_proved and all(t.how == "not proved" for t in report.theorems)
    assert lean_file.with_name("out.lean").read_text() == ORIGINAL


def test_the_whole_file_check_has_the_last_word(lean_file: Path, tmp_path: Path) -> None:
    two_line = (HEAD + "  sorry" + MIDDLE_1).count("\n") + 1  # `  a` of theorem two's proof
    error = Message(severity="error", pos=Pos(line=two_line, column=2), data="unknown tactic")
    report = run(job(lean_file, tmp_path), [PROOF + "\n```"], FileChecker((error,)))
    outcome = {t.id: t for t in report.theorems}
    assert outcome["one"].proved and outcome["three"].proved and not report.all_proved
    assert outcome["two"].how == "failed the file check" and "unknown tactic" in outcome["two"].detail


def test_bad_files(tmp_path: Path) -> None:
    proved = tmp_path / "proved.lean"
    proved.write_text("theorem t : True := by\n  trivial\n")
    with pytest.raises(DataError, match="no theorem or lemma whose proof is `sorry`"):
        run(job(proved, tmp_path), [PROOF])
    lean_file = tmp_path / "three.lean"
    lean_file.write_text(ORIGINAL)
    with pytest.raises(DataError, match="no sorry theorem named four; its sorry theorems: one, two, three"):
        run(job(lean_file, tmp_path, theorem="four"), [PROOF])


def test_a_proof_with_helpers_goes_in_with_its_helpers_before_the_theorem() -> None:
    from lean_prover.data.lean_file import parse_theorems
    from lean_prover.eval.prove_file import FoundProof, splice

    (one, two, three, *_) = parse_theorems(ORIGINAL, "three.lean")
    spliced = splice(ORIGINAL, two, FoundProof("  exact aux", "lemma aux : True := trivial\n"))
    assert spliced == ORIGINAL.replace(
        "theorem two : True := by\n  sorry", "lemma aux : True := trivial\n\ntheorem two : True := by\n  exact aux"
    )
    documented = splice(ORIGINAL, one, FoundProof("  simp", "lemma aux : True := trivial\n"))
    assert "lemma aux : True := trivial\n\n/-- The first one. -/\ntheorem one" in documented
