"""From a verified proof sketch to standalone lemmas, and from their proofs back to one proof.

A sketch (DeepSeek-Prover-V2's subgoal decomposition) states each intermediate step as
`have name : statement := by sorry`. Lean checks it and reports, for every `sorry`, the goal
at that point: the hypotheses in scope (the theorem's binders, earlier `have`s, `intro`duced
names) above `⊢ target`. Each goal becomes a theorem of its own; once each is proved, its
tactic proof replaces the `sorry`, indented to fit, and the whole is checked again.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from lean_prover.data.lean_lexer import Kind, LexError, Token, significant, tokenize
from lean_prover.data.problem import Problem
from lean_prover.lean_env.protocol import Sorry
from lean_prover.search.errors import SearchError

TURNSTILE = "⊢"
_INACCESSIBLE = re.compile(r"([^\W\d][\w'.!?]*?)✝([⁰¹²³⁴⁵⁶⁷⁸⁹]*)")


class SketchError(SearchError, ValueError):
    """A sketch that cannot be decomposed (a `sorry` outside a `have`, goals that do not parse)."""


@dataclass(frozen=True)
class SorrySite:
    """Where a `sorry` stands in the sketch text, and the `have` it proves."""

    start: int
    """Start of the text the proof replaces: `sorry`, or after `by` in `by sorry`."""
    end: int
    have_name: str
    after_by: bool
    """`:= by sorry` (the proof replaces `sorry` as tactics) rather than `:= sorry`."""
    indent: str
    """Spaces up to the `have`'s column: its proof goes two columns further (past a `·` too)."""


@dataclass(frozen=True)
class Subgoal:
    site: SorrySite
    lemma: Problem
    """The goal as a theorem of its own, with the hypotheses in scope as binders."""


def sorry_sites(sketch: str) -> list[SorrySite]:
    """The `sorry`s of a sketch, in text order; each must close a `have`."""
    try:
        tokens = significant(tokenize(sketch))
    except LexError as error:
        raise SketchError(f"the sketch does not lex: {error}") from None
    sites = []
    for index, token in enumerate(tokens):
        if token.kind is not Kind.IDENT or token.text != "sorry":
            continue
        previous = tokens[index - 1].text if index else ""
        after_by = previous == "by"
        assign = index - 2 if after_by else index - 1
        if assign < 0 or tokens[assign].text != ":=":
            raise SketchError(f"line {token.line}: `sorry` must be the whole proof of a `have`")
        have = _enclosing_have(tokens, assign)
        if have is None:
            raise SketchError(f"line {token.line}: `sorry` outside a `have ... := by sorry` step")
        following = tokens[have + 1]
        name = following.text if following.kind is Kind.IDENT else "this"
        indent = " " * tokens[have].column
        start = tokens[index - 1].end if after_by else token.start
        sites.append(SorrySite(start, token.end, name, after_by, indent))
    return sites


def _enclosing_have(tokens: list[Token], assign: int) -> int | None:
    """Index of the `have` whose `:=` is at `assign`, if the tokens between hold no other step."""
    depth = 0
    for index in range(assign - 1, -1, -1):
        text = tokens[index].text
        if text in (")", "]", "}", "⟩"):
            depth += 1
        elif text in ("(", "[", "{", "⟨"):
            depth -= 1
        elif depth == 0 and text in ("have", "haveI", "replace", "suffices", "obtain"):
            return index if text in ("have", "haveI", "replace") else None
        elif depth == 0 and text in (":=", "by", ";", "·", "<;>"):
            return None
    return None


def subgoals_of(problem: Problem, sketch: str, sorries: tuple[Sorry, ...] | list[Sorry]) -> list[Subgoal]:
    """The sketch's steps as lemmas, from the goals Lean reported at its sorries.

    Lean's sorries are matched to the sketch's `sorry` tokens in text order; a sketch where
    they differ in number (a `sorry` run twice by a combinator) is refused."""
    sites = sorry_sites(sketch)
    if not sites:
        raise SketchError("the sketch has no `have ... := by sorry` step")
    if len(sites) != len(sorries):
        raise SketchError(f"the sketch has {len(sites)} sorries but Lean reported {len(sorries)} goals")
    ordered = sorted(sorries, key=lambda s: (s.pos.line, s.pos.column) if s.pos else (0, 0))
    base = _theorem_name(problem)
    used: set[str] = set()
    subgoals = []
    for number, (site, sorry) in enumerate(zip(sites, ordered), 1):
        name = f"{base}_{_identifier(site.have_name)}"
        if name in used:
            name = f"{name}_{number}"
        used.add(name)
        subgoals.append(Subgoal(site, lemma_problem(problem, name, sorry.goal)))
    return subgoals


def lemma_problem(parent: Problem, name: str, goal: str) -> Problem:
    """The goal `hyps ⊢ target` as `theorem name (hyps) : target := by`, in the parent's file."""
    binders, target = goal_to_binders(goal)
    signature = " ".join([name, *binders])
    return Problem(
        name=name,
        split=parent.split,
        header=parent.header,
        informal_prefix="",
        formal_statement=f"theorem {signature} :\n    {target} := by",
        goal=goal,
        source=f"subgoal of {parent.source}:{parent.id}",
        context=parent.context,
    )


def goal_to_binders(goal: str) -> tuple[list[str], str]:
    """Lean's printed goal as theorem binders and a target.

    `x y : ℕ` becomes `(x y : ℕ)`; an anonymous instance `inst✝ : Fintype α` becomes
    `[Fintype α]`; other inaccessible names (`h✝`) get fresh names, everywhere they occur; a
    local definition `x : ℕ := v` becomes `(x : ℕ) (x_def : x = v)`."""
    entries = _logical_lines(goal)
    if entries and entries[0].startswith("case "):
        entries = entries[1:]
    targets = [i for i, e in enumerate(entries) if e.startswith(TURNSTILE)]
    if len(targets) != 1:
        raise SketchError(f"expected one goal with one `{TURNSTILE}`, got: {goal!r}")
    hypotheses, target = entries[: targets[0]], entries[targets[0]][len(TURNSTILE) :].strip()
    renames = _fresh_names(goal)
    binders: list[str] = []
    for entry in hypotheses:
        names, sep, rest = entry.partition(" : ")
        if not sep or not names.strip():
            raise SketchError(f"cannot read the hypothesis {entry!r}")
        kind, _, value = rest.partition(" := ")
        kind = _rename(kind, renames)
        listed = names.split()
        if all(n.startswith("inst✝") for n in listed):
            binders.extend(f"[{kind}]" for _ in listed)
            continue
        fresh = [renames.get(n, n) for n in listed]
        binders.append(f"({' '.join(fresh)} : {kind})")
        if value:
            binders.extend(f"({n}_def : {n} = {_rename(value, renames)})" for n in fresh)
    return binders, _rename(target, renames)


def _logical_lines(goal: str) -> list[str]:
    """Goal lines with the pretty-printer's wrapped continuations joined back."""
    lines: list[str] = []
    for line in goal.split("\n"):
        if line.startswith((" ", "\t")) and lines:
            lines[-1] += " " + line.strip()
        elif line.strip():
            lines.append(line.strip())
    return lines


def _fresh_names(goal: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for match in _INACCESSIBLE.finditer(goal):
        whole = match.group(0)
        if whole not in names and not whole.startswith("inst✝"):
            names[whole] = f"{match.group(1)}_{len(names) + 1}"
    return names


def _rename(text: str, renames: dict[str, str]) -> str:
    for old in sorted(renames, key=len, reverse=True):
        text = text.replace(old, renames[old])
    return text


def _identifier(name: str) -> str:
    cleaned = re.sub(r"[^\w']", "_", name)
    return cleaned or "step"


def _theorem_name(problem: Problem) -> str:
    return _identifier(problem.name.rsplit(".", 1)[-1])


def substitute(sketch: str, proofs: list[tuple[SorrySite, str]]) -> str:
    """The sketch with each site's `sorry` replaced by a lemma's tactic proof (the text that
    followed the lemma's `:= by`), re-indented two columns past its `have`'s column."""
    result = sketch
    for site, proof in sorted(proofs, key=lambda pair: pair[0].start, reverse=True):
        block = reindent(proof, site.indent + "  ")
        replacement = block if site.after_by else "by" + block
        result = result[: site.start] + replacement + result[site.end :]
    return result


def reindent(proof: str, indent: str) -> str:
    """A tactic proof as a block starting on a new line at `indent`, its inner layout kept."""
    if proof.startswith("\n") or not proof.strip():
        lines = textwrap.dedent(proof.strip("\n")).rstrip().split("\n")
    else:  # the first tactic was written on the `by` line
        first, _, rest = proof.partition("\n")
        lines = [first.strip(), *textwrap.dedent(rest).rstrip().split("\n")] if rest.strip() else [first.strip()]
    return "".join("\n" + (indent + line if line.strip() else "") for line in lines)

