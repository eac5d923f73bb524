"""Cut a checked proof into tactic segments: the unit by which RMaxTS grows its tree.

Following DeepSeek-Prover-V1.5 (`Proof.segmentation` in its `prover/lean/proof.py`):
1. Truncate the proof at its first error, except errors starting with "unsolved goals" (Lean
   reports those at the `by` of a proof that is merely unfinished, which is no reason to drop
   the tactics that did run); `sorry` truncates too.
2. Walk the kept text line by line. A line ends a segment when a tactic ends on it (after the
   line's last code character): the segment is the text since the previous segment, and its
   state is the goals after the outermost such tactic. Its indentation (where a state comment
   goes) is that of the line where the earliest-starting tactic ending inside the segment
   starts.
3. A finished proof ends with a `no goals` segment.
Goals after a tactic come from the tactic trace (`TacticStep.goals_after`), or for the last
tactic of an unfinished proof from Lean's "unsolved goals" error. Where the trace cannot tell
(the last tactic of a nested block whose parent goes on), the caller replays the proof up to
that line in tactic mode (`unresolved_line_ends`, then `segments_of(..., replayed=...)`);
a line still unknown joins the next segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import Incomplete, LeanErrors, LeanRun, Proved, Verdict
from lean_prover.lean_env.verifier import LineIndex
from lean_prover.prover.prompts import state_comment

NO_GOALS = "no goals"


@dataclass(frozen=True)
class Segment:
    code: str
    """Proof text of this segment, ending with a line break."""
    goal: str
    """The tactic state after the segment (`no goals` when the proof is done)."""
    indent: str
    """Indentation of the segment's outermost tactic: where the state comment goes."""

    @property
    def state_comment(self) -> str:
        return state_comment(self.goal, self.indent)


@dataclass(frozen=True)
class _Boundary:
    line_end: int
    """Offset in the proof of the end of the line."""
    start: int
    """Offset of the outermost tactic ending on the line."""
    goal: str | None
    """The state after it; None when the trace does not say."""


def segments_of(
    problem: Problem, proof: str, verdict: Verdict, replayed: dict[int, str] | None = None
) -> list[Segment]:
    """The segments of a checked proof (none if Lean gave no trace, e.g. on a timeout).

    `replayed` gives states the trace did not, by the line end they belong to (see
    `unresolved_line_ends`); a line whose state is still unknown joins the next segment.
    """
    boundaries = _boundaries(problem, proof, verdict)
    if boundaries is None:
        return []
    kept, found, steps = boundaries
    segments: list[Segment] = []
    last = 0  # where the next segment starts
    for boundary in found:
        goal = boundary.goal if boundary.goal is not None else (replayed or {}).get(boundary.line_end)
        if goal is not None:
            start = min((s for s, end, _ in steps if last < end <= boundary.line_end), default=boundary.start)
            segments.append(Segment(kept[last : boundary.line_end] + "\n", goal or NO_GOALS, _indent_at(kept, start)))
            last = boundary.line_end + 1
    if isinstance(verdict, Proved):
        rest = kept[last:].rstrip(" \n")
        if rest.strip():
            segments.append(Segment(rest + "\n", NO_GOALS, segments[0].indent if segments else "  "))
    return [s for s in segments if s.code.strip()]


def unresolved_line_ends(problem: Problem, proof: str, verdict: Verdict) -> list[int]:
    """Line ends (offsets in the proof) where a tactic ends but the trace gives no state after
    it (the last tactic of a nested block whose parent goes on): replay `proof[:offset]` in
    tactic mode to learn it."""
    boundaries = _boundaries(problem, proof, verdict)
    return [] if boundaries is None else [b.line_end for b in boundaries[1] if b.goal is None]


_Step = tuple[int, int, str | None]
"""A traced tactic as (start, end, goals after), offsets in the proof."""


def _boundaries(problem: Problem, proof: str, verdict: Verdict) -> tuple[str, list[_Boundary], list[_Step]] | None:
    """The kept (truncated) proof, each line of it on which a tactic ends, and the trace."""
    if not isinstance(verdict, (Proved, LeanErrors, Incomplete)):
        return None
    run = verdict.run
    prefix = problem.context + problem.formal_statement
    lines = LineIndex(prefix + proof)
    kept = proof[: truncation_point(run, lines, len(prefix), len(proof))]
    steps = [
        (lines.offset(s.pos) - len(prefix), lines.offset(s.end_pos) - len(prefix), s.goals_after)
        for s in run.tactics
    ]
    steps = _with_final_state(steps, run, lines, len(prefix))
    found = []
    line_start = 0
    for line in kept.split("\n"):
        line_end = line_start + len(line)
        last_code = line_start + _last_code_column(line)
        # Tactics ending on this line after its last code character; the outermost one
        # (earliest start) gives the state, e.g. a whole `have ... := by` block.
        ending = [(start, goal) for start, end, goal in steps if last_code <= end <= line_end]
        if ending:
            start, goal = min(ending, key=lambda item: item[0])
            found.append(_Boundary(line_end, start, goal))
        line_start = line_end + 1
    return kept, found, steps


def _with_final_state(steps: list[_Step], run: LeanRun, lines: LineIndex, proof_start: int) -> list[_Step]:
    """The trace gives no state after the last tactic of an unfinished proof; Lean's
    `unsolved goals` error at the proof's own `by` (before the proof text) holds it."""
    final = next(
        (
            m.data.lstrip().removeprefix("unsolved goals").strip("\n")
            for m in run.messages
            if m.severity == "error"
            and m.data.lstrip().startswith("unsolved goals")
            and lines.offset(m.pos) < proof_start
        ),
        None,
    )
    if final is None or not steps:
        return steps
    last_end = max(end for _, end, _ in steps)
    outermost_last = min((start for start, end, _ in steps if end == last_end))
    return [
        (start, end, final if (start, end) == (outermost_last, last_end) and goal is None else goal)
        for start, end, goal in steps
    ]


def truncation_point(run: LeanRun, lines: LineIndex, proof_start: int, proof_length: int) -> int:
    """Offset in the proof of its first real error or sorry (the proof's length if none)."""
    cut = proof_length
    positions = [m.pos for m in run.messages if m.severity == "error" and not m.data.lstrip().startswith("unsolved goals")]
    positions += [s.pos for s in run.sorries if s.pos is not None]
    for pos in positions:
        offset = lines.offset(pos) - proof_start
        if pos.line > 0 and offset >= 0:
            cut = min(cut, offset)
    return cut


def _indent_at(text: str, offset: int) -> str:
    """The leading spaces of the line that contains `offset`."""
    line = text[text.rfind("\n", 0, max(offset, 0)) + 1 :]
    return line[: len(line) - len(line.lstrip(" "))]


def _last_code_column(line: str) -> int:
    """Column of the line's last character that is code (not a comment or trailing space)."""
    if "-" not in line:  # no comment can start on this line
        stripped = len(line.rstrip(" "))
        return stripped - 1 if stripped else len(line) + 1
    last = len(line) + 1
    index = 0
    while index < len(line):
        if line.startswith("--", index):
            return last
        if line.startswith("/-", index):
            close = line.find("-/", index + 2)
            if close < 0:
                return len(line) + 1  # a comment runs on past this line: no boundary here
            index = close + 1
        elif line[index] != " ":
            last = index
        index += 1
    return last
