"""The unit of work of the whole system: one formal statement to prove."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Iterable


@dataclass(frozen=True)
class Answer:
    """An answer a problem asks for besides its proof: PutnamBench's
    `abbrev putnam_…_solution : T := sorry`, which the statement uses. The declaration stays in
    `Problem.context` as the source has it; a candidate fills its `sorry` with a term
    (`Problem.with_answer`), and is judged on that term and the proof together."""

    name: str
    """The declaration's name, e.g. `putnam_1962_a5_solution`."""
    official: str
    """The benchmark's own answer, from the comment after the declaration (a Lean term, not
    shown to the policy); empty when the source gives none."""
    hole: tuple[int, int]
    """Character offsets in `Problem.context` of the answer's term: `sorry` until filled."""
    term: str | None = None
    """The candidate's answer; None while the `sorry` stands."""
    given: bool = False
    """The term is the official answer, filled in by the loader (`data.answers = "given"`): only
    the proof is asked for."""


@dataclass(frozen=True)
class Problem:
    """A theorem to prove, with the Lean text it needs, kept byte-identical to its source.

    Lean checks `header + context + formal_statement + proof`; `informal_prefix` (a doc
    comment) sits before the statement in prompts.
    """

    name: str
    """The theorem's name as written in the source."""
    split: str
    """Benchmark split (`valid`, `test`), or empty for problems from a `.lean` file."""
    header: str
    """Imports, options and `open`s that precede the statement."""
    informal_prefix: str
    """Natural-language statement as a Lean doc comment, or empty."""
    formal_statement: str
    """The statement up to and including `:=` (and `by`), exactly as in the source."""
    goal: str
    """The initial tactic state as Lean prints it; empty when the source does not give it."""
    source: str
    """Where the problem came from: a dataset name, or `path:line`."""
    id: str = ""
    """Unique within its source: the name, or `name#k` when the source repeats the name."""
    context: str = ""
    """Lean text between the header and the statement (definitions, earlier lemmas,
    namespaces) that the statement may need; empty for benchmark problems."""

    answer: Answer | None = None
    """Set when the problem also asks for an answer (see `Answer`)."""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.name)

    @property
    def statement_sha256(self) -> str:
        """Identity of what is proved: sha256 of header, context and statement (and of the
        official answer, for a problem that asks for one)."""
        text = self.header + self.reference_context + self.formal_statement
        if self.answer is not None:
            text += f"\n-- answer {self.answer.name}: {self.answer.official}" + (" (given)" if self.answer.given else "")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def answer_to_find(self) -> Answer | None:
        """The answer the policy must give with its proof (None when there is none, or when the
        official one was given)."""
        return None if self.answer is None or self.answer.given else self.answer

    @property
    def reference_context(self) -> str:
        """The context as the source has it: an answer's term is `sorry`."""
        if self.answer is None or self.answer.term is None:
            return self.context
        start, end = self.answer.hole
        return self.context[:start] + "sorry" + self.context[end:]

    def with_answer(self, term: str) -> Problem:
        """The problem with its answer's `sorry` replaced by `(term)`, a candidate's answer still
        to be checked (the guard's rules for answers, and Lean).

        The parentheses are what keeps the term a term: the guard allows no unbalanced bracket
        in it, so nothing in it can close them, and a command inside parentheses is a parse
        error, never a command. The line break before `)` ends any comment the term ends with."""
        if self.answer is None:
            raise ValueError(f"{self.id} asks for no answer")
        context = self.reference_context
        start, _ = self.answer.hole
        term = term.strip()
        wrapped = f"({term}\n)"
        filled = context[:start] + wrapped + context[start + len("sorry") :]
        answer = replace(self.answer, hole=(start, start + len(wrapped)), term=term)
        return replace(self, context=filled, answer=answer)


def statements_hash(problems: Iterable[Problem]) -> str:
    """The content hash of a statement set: sha256 over each problem's id and statement hash,
    in id order (so the order problems were read in does not matter). Runs record it; runs over
    different statement sets are not compared."""
    digest = hashlib.sha256()
    for problem_id, statement in sorted((p.id, p.statement_sha256) for p in problems):
        digest.update(f"{problem_id}\t{statement}\n".encode("utf-8"))
    return "sha256:" + digest.hexdigest()


def short_hash(statements: str | None) -> str:
    """A statement hash as a person reads it: `sha256:` and 12 hex digits."""
    return "(not recorded)" if statements is None else statements[: len("sha256:") + 12]
