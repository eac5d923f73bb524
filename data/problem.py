"""The unit of work of the whole system: one formal statement to prove."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable


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

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.name)

    @property
    def statement_sha256(self) -> str:
        """Identity of what is proved: sha256 of header, context and statement."""
        text = self.header + self.context + self.formal_statement
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
