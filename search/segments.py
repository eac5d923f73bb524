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
that line in tactic mode (`TacticLines.unresolved_line_ends`, then
`TacticLines.segments(replayed)`); a line still unknown joins the next segment.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from lean_prover.data.problem import Problem
from lean_prover.lean_env.verdict import Incomplete, LeanErrors, LeanRun, Proved, Verdict
from lean_prover.lean_env.verifier import LineIndex
from lean_prover.prover.prompts import state_comment

NO_GOALS = "no goals"
_LEADING_SPACES = re.compile(" *")


@dataclass(slots=True)
class Segment:
    """One step of a proof as RMaxTS keys its tree. (Not frozen: a search makes some 10^5, and
    a frozen dataclass takes four times as long to construct.)"""

    code: str
    """Proof text of this segment, ending with a line break."""
    goal: str
    """The tactic state after the segment (`no goals` when the proof is done)."""
    indent: str
    """Indentation of the segment's outermost tactic: where the state comment goes."""

    @property
    def state_comment(self) -> str:
        return state_comment(self.goal, self.indent)


@dataclass(slots=True)
class _Line:
    """A line of the kept proof on which at least one tactic ends."""

    end: int
    """Offset in the proof of the end of the line."""
    first_start: int
    """The earliest start of a tactic ending on the line (for the indentation)."""
    boundary: bool
    """A tactic ends after the line's last code character: the line ends a segment."""
    goal: str | None
    """The state after the outermost such tactic; None when the trace does not say."""


_Step = tuple[int, int, str | None]
"""A traced tactic as (start, end, goals after), offsets in the proof."""


@dataclass(slots=True)
class TacticLines:
    """A checked proof cut at its first error, and each of its lines on which a tactic ends.
    (Not frozen, like `Segment`: one is made for every sample.)"""

    kept: str
    lines: list[_Line]
    """In order."""
    finished: bool
    """Lean proved it: the last segment is `no goals`."""

    def unresolved_line_ends(self) -> list[int]:
        """Line ends where a tactic ends but the trace gives no state after it (the last tactic
        of a nested block whose parent goes on): replay `proof[:offset]` in tactic mode to
        learn it, and pass what it gives to `segments`."""
        return [line.end for line in self.lines if line.boundary and line.goal is None]

    def segments(self, replayed: dict[int, str] | None = None) -> list[Segment]:
        """The segments; `replayed` gives states the trace did not, by their line end. A line
        whose state is still unknown joins the next segment."""
        kept = self.kept
        segments: list[Segment] = []
        last = 0  # where the next segment starts
        earliest: int | None = None  # the earliest start of a tactic ending in it so far
        for line in self.lines:
            earliest = line.first_start if earliest is None or line.first_start < earliest else earliest
            if not line.boundary:
                continue
            goal = line.goal if line.goal is not None or replayed is None else replayed.get(line.end)
            if goal is None:
                continue
            segments.append(Segment(kept[last : line.end] + "\n", goal or NO_GOALS, _indent_at(kept, earliest)))
            last, earliest = line.end + 1, None
        if self.finished:
            rest = kept[last:].rstrip(" \n")
            if rest.strip():
                segments.append(Segment(rest + "\n", NO_GOALS, segments[0].indent if segments else "  "))
        return [s for s in segments if s.code.strip()]


def segments_of(
    problem: Problem, proof: str, verdict: Verdict, replayed: dict[int, str] | None = None
) -> list[Segment]:
    """The segments of a checked proof (none if Lean gave no trace, e.g. on a timeout)."""
    lines = tactic_lines(problem, proof, verdict)
    return [] if lines is None else lines.segments(replayed)


def tactic_lines(problem: Problem, proof: str, verdict: Verdict) -> TacticLines | None:
    """The proof cut at its first error, with the lines on which a tactic ends (None if Lean
    gave no trace, e.g. on a timeout)."""
    if not isinstance(verdict, (Proved, LeanErrors, Incomplete)):
        return None
    run = verdict.run
    prefix = problem.context + problem.formal_statement
    index = LineIndex(prefix + proof)
    kept = proof[: truncation_point(run, index, len(prefix), len(proof))]
    offset, base = index.offset, len(prefix)
    steps = [(offset(s.pos) - base, offset(s.end_pos) - base, s.goals_after) for s in run.tactics]
    steps = _with_final_state(steps, run, index, len(prefix))
    kept_lines = kept.split("\n")
    line_ends = list(itertools.accumulate(len(line) + 1 for line in kept_lines))  # each one past its "\n"
    # Each tactic goes to the line it ends on. Of those ending after the line's last code
    # character, the outermost (earliest start) gives the line's state, e.g. a whole
    # `have ... := by` block; of all of them, the earliest start counts for indentation.
    outermost: dict[int, tuple[int, str | None]] = {}
    first_starts: dict[int, int] = {}
    last_code: dict[int, int] = {}  # by line number, as met
    for start, end, goal in steps:
        if end < 0:
            continue  # before the proof
        number = bisect.bisect_left(line_ends, end + 1)
        if number == len(line_ends):
            continue  # after the kept text
        line_end = line_ends[number] - 1
        first_start = first_starts.get(line_end)
        if first_start is None or start < first_start:
            first_starts[line_end] = start
        code_end = last_code.get(number)
        if code_end is None:
            line = kept_lines[number]
            code_end = last_code[number] = line_end - len(line) + _last_code_column(line)
        if end >= code_end and (line_end not in outermost or start < outermost[line_end][0]):
            outermost[line_end] = (start, goal)
    lines = []
    for end in sorted(first_starts):
        state = outermost.get(end)
        lines.append(_Line(end, first_starts[end], state is not None, None if state is None else state[1]))
    return TacticLines(kept, lines, isinstance(verdict, Proved))


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
    match = _LEADING_SPACES.match(text, text.rfind("\n", 0, max(offset, 0)) + 1)
    assert match is not None  # " *" matches anywhere
    return match.group()


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
