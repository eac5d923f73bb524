"""The disproof pass: before a statement's search, a few samples at proving its negation.

Every benchmark has wrong statements (a missing hypothesis, an off-by-one bound); a prover
that cannot prove one has not failed. With `search.disprove_samples > 0`, each search starts by
sampling proofs of

    theorem NAME_disproof : ¬ ∀ BINDERS, (TYPE) := by

built from `theorem NAME BINDERS : TYPE :=`. A proof of it, checked and certified like any
proof, ends the search: the statement is false, and the run reports it as disproved, never as
unproved. Problems that ask for an answer are not disproved: their statement is false for
every wrong answer (with the official answer given, they are). Statements in a context with
`variable`s are not disproved either (their negation cannot be written from the text).
"""

from __future__ import annotations

from dataclasses import replace

from lean_prover.data.lean_file import find_assign
from lean_prover.data.lean_lexer import Kind, LexError, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.prover.agent import Prover
from lean_prover.search.base import SearchAttempt, certified
from lean_prover.search.budget import Budget
from lean_prover.search.config import SearchConfig
from lean_prover.search.sampling import WholeProofSampling

SUFFIX = "_disproof"


def negation(problem: Problem) -> Problem | None:
    """The problem of proving that `problem`'s statement is false; None for a problem that asks
    for an answer, or a statement not of the form `theorem NAME BINDERS : TYPE :=`."""
    if problem.answer_to_find is not None:
        return None
    statement = problem.formal_statement
    try:
        tokens = significant(tokenize(statement))
        context = significant(tokenize(problem.context))
    except LexError:
        return None
    if any(t.kind is Kind.IDENT and t.text == "variable" for t in context):
        # Section variables the statement uses are bound outside its text: `¬ ∀ binders, type`
        # would not quantify them, and over an empty type both it and the statement hold.
        return None
    name_index = next((i + 1 for i, t in enumerate(tokens[:-1])
                       if t.kind is Kind.IDENT and t.text in ("theorem", "lemma")), None)
    if name_index is None:
        return None
    assign = find_assign(tokens, name_index + 1)
    colon = _type_colon(tokens, name_index + 1, assign)
    if assign is None or colon is None:
        return None
    name = tokens[name_index].text
    binders = statement[tokens[name_index].end : tokens[colon].start].strip()
    claim = statement[tokens[colon].end : tokens[assign].start].strip()
    # `∀` takes the binders a declaration takes, bracketed or not (`Lean.Parser.Term.forall`:
    # `many1 (binderIdent <|> bracketedBinder)`, leanprover/lean4 `src/Lean/Parser/Term.lean`),
    # so `theorem t BINDERS : TYPE` has the negation `¬ ∀ BINDERS, (TYPE)`.
    negated = f"¬ ∀ {binders}, ({claim})" if binders else f"¬ ({claim})"
    return replace(problem, name=name + SUFFIX, id=problem.id + SUFFIX, informal_prefix="",
                   formal_statement=f"theorem {name}{SUFFIX} : {negated} := by\n", goal="")


def _type_colon(tokens: list, start: int, end: int | None) -> int | None:
    """The `:` at bracket depth 0 between the binders and the type."""
    depth = 0
    for index in range(start, end if end is not None else len(tokens)):
        token = tokens[index]
        depth += 1 if token.kind is Kind.OPEN else -1 if token.kind is Kind.CLOSE else 0
        if depth == 0 and token.text == ":":
            return index
    return None


async def try_disproof(problem: Problem, prover: Prover, samples: int, concurrency: int) -> SearchAttempt | None:
    """A certified proof of the statement's negation within `samples` samples, or None."""
    negated = negation(problem)
    if negated is None or samples <= 0:
        return None
    sampling = WholeProofSampling(SearchConfig(algorithm="sample", concurrency=concurrency, stop_at_first=True))
    async for attempt in sampling.run(negated, prover, Budget(samples)):
        attempt = await certified(attempt, negated, prover)
        if attempt.proved:
            return attempt
    return None
