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

from dataclasses import dataclass

from lean_prover.data.problem import Problem
from lean_prover.lean_env.protocol import Pos
from lean_prover.lean_env.verdict import Incomplete, LeanErrors, LeanRun, Proved, Verdict
from lean_prover.lean_env.repl_checker import LineIndex
from lean_prover.prover.prompts import state_comment

NO_GOALS = "no goals"


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
    indent: str
    """The leading spaces of the line where `first_start` lies."""
    boundary: bool
    """A tactic ends after the line's last code character: the line ends a segment."""
    goal: str | None
    """The state after the outermost such tactic; None when the trace does not say."""


@dataclass(slots=True)
class TacticLines:
    """A checked proof cut at its first error, and each of its lines on which a tactic ends.
    (Not frozen, like `Segment`: one is made for every sample.)"""

    kept: str
    lines: list[_Line]
    """In order."""
    finished: bool
    """Lean proved it: the last segment is `no goals`."""
    start: int = 0
    """Where the lines begin: after the resumed prefix when the tree holds its segments (see
    `tactic_lines`), else 0."""

    def unresolved_line_ends(self) -> list[int]:
        """Line ends where a tactic ends but the trace gives no state after it (the last tactic
        of a nested block whose parent goes on): replay `proof[:offset]` in tactic mode to
        learn it, and pass what it gives to `segments`."""
        return [line.end for line in self.lines if line.boundary and line.goal is None]

    def segments(self, replayed: dict[int, str] | None = None) -> list[Segment]:
        """The segments (from `start`); `replayed` gives states the trace did not, by their line
        end. A line whose state is still unknown joins the next segment. (A boundary line holds
        code, so no segment is blank.)"""
        kept = self.kept
        segments: list[Segment] = []
        last = self.start  # where the next segment starts
        earliest: _Line | None = None  # the line with the earliest tactic start in it so far
        for line in self.lines:
            if earliest is None or line.first_start < earliest.first_start:
                earliest = line
            if not line.boundary:
                continue
            goal = line.goal if line.goal is not None or replayed is None else replayed.get(line.end)
            if goal is None:
                continue
            segments.append(Segment(kept[last : line.end] + "\n", goal or NO_GOALS, earliest.indent))
            last, earliest = line.end + 1, None
        if self.finished:
            rest = kept[last:].rstrip(" \n")
            if rest.strip():
                segments.append(Segment(rest + "\n", NO_GOALS, segments[0].indent if segments else "  "))
        return segments


@dataclass(frozen=True)
class Resumed:
    """The proof prefix a sample resumed from (an RMaxTS node's code, which the tree has already
    cut into segments) and the state the tree holds after it."""

    code: str
    goal: str


def segments_of(
    problem: Problem, proof: str, verdict: Verdict, replayed: dict[int, str] | None = None
) -> list[Segment]:
    """The segments of a checked proof (none if Lean gave no trace, e.g. on a timeout)."""
    lines = tactic_lines(problem, proof, verdict)
    return [] if lines is None else lines.segments(replayed)


def tactic_lines(problem: Problem, proof: str, verdict: Verdict, resumed: Resumed | None = None) -> TacticLines | None:
    """The proof cut at its first error, with the lines on which a tactic ends (None if Lean
    gave no trace, e.g. on a timeout).

    Each tactic goes to the line it ends on. Of those ending after the line's last code
    character, the outermost (earliest start) gives the line's state, e.g. a whole
    `have ... := by` block; of all of them, the earliest start counts for indentation.

    With `resumed`, the lines start after the resumed prefix when cutting the whole proof
    would give the prefix the segments it had when the tree took it in: Lean checks the same
    text the same way, so this holds unless the text after it changes how the prefix reads.
    That is ruled out by checking that no error falls inside the prefix, no tactic runs across
    its end, and its last line ends a segment in the state the tree holds. (A search cuts
    ~10^4 samples that all begin with a node's code: the part the tree knows is not cut again.)
    """
    if not isinstance(verdict, (Proved, LeanErrors, Incomplete)):
        return None
    run = verdict.run
    prefix = problem.context + problem.formal_statement
    index = LineIndex(prefix + proof)
    kept = proof[: truncation_point(run, index, len(prefix), len(proof))]
    finished = isinstance(verdict, Proved)
    first_line = prefix.count("\n")  # where the proof starts, in lines of the whole text
    if resumed is not None and resumed.code and not finished and kept.startswith(resumed.code):
        known = resumed.code.count("\n")  # the prefix's lines (it ends with a line break)
        if _read_apart(run, first_line + known):
            lines = _lines(run, index, len(prefix), kept, first_line, known - 1)
            if lines and lines[0].end == len(resumed.code) - 1 and lines[0].boundary and lines[0].goal is not None \
                    and (lines[0].goal or NO_GOALS) == resumed.goal:
                return TacticLines(kept, lines[1:], finished, start=len(resumed.code))
    return TacticLines(kept, _lines(run, index, len(prefix), kept, first_line, 0), finished)


def _read_apart(run: LeanRun, last_line: int) -> bool:
    """Whether the tactics up to Lean's line `last_line` and those after it are apart: none
    starts on one side and ends on the other, and at least one lies after it."""
    after = False
    for step in run.tactics:
        starts_after = step.pos.line > last_line
        if starts_after != (step.end_pos.line > last_line):
            return False
        after = after or starts_after
    return after


def _lines(run: LeanRun, index: LineIndex, base: int, kept: str, first_line: int, from_line: int) -> list[_Line]:
    """The lines of `kept` from line `from_line` on which a tactic ends (see `tactic_lines`);
    `base` is the proof's offset and `first_line` its line in the text `index` indexes."""
    kept_lines = kept.split("\n")
    last_kept, kept_length = len(kept_lines) - 1, len(kept)
    starts, lengths, last_index = index.starts, index.lengths, len(index.lengths) - 1
    # By kept line: its end, the earliest tactic start and that start's line, the outermost
    # tactic ending after its code as (start, end, goal), and where its code ends.
    line_ends: dict[int, int] = {}
    first_starts: dict[int, tuple[int, int]] = {}
    outermost: dict[int, tuple[int, int, str | None]] = {}
    code_ends: dict[int, int] = {}
    last_end, last_start = -1 - base, 0  # the tactic ending last, outermost among equals
    for step in run.tactics:
        # `LineIndex.offset` of both ends, inlined (a search converts ~10^5 positions).
        pos = step.end_pos
        line = pos.line - 1
        line = 0 if line < 0 else last_index if line > last_index else line
        number = line - first_line  # the kept line it ends on
        if number < from_line:
            continue  # it ends before every tactic that counts, so it cannot be the last either
        length = lengths[line]
        end = starts[line] + (pos.column if pos.column < length else length) - base
        pos = step.pos
        start_line = pos.line - 1
        start_line = 0 if start_line < 0 else last_index if start_line > last_index else start_line
        length = lengths[start_line]
        start = starts[start_line] + (pos.column if pos.column < length else length) - base
        if end > last_end or (end == last_end and start < last_start):
            last_end, last_start = end, start
        if end < 0 or number > last_kept or (number == last_kept and end > kept_length):
            continue  # before the proof, or after the kept text
        line_end = line_ends.get(number)
        if line_end is None:
            line_start = 0 if number == 0 else starts[line] - base
            line_end = line_ends[number] = line_start + len(kept_lines[number])
            code_ends[number] = line_start + _last_code_column(kept_lines[number])
        first = first_starts.get(number)
        if first is None or start < first[0]:
            first_starts[number] = (start, start_line - first_line if start >= 0 else 0)
        if end >= code_ends[number] and (number not in outermost or start < outermost[number][0]):
            outermost[number] = (start, end, step.goals_after)
    final = _final_state(run, index, base)
    if final is not None:
        for number, (start, end, goal) in outermost.items():
            if start == last_start and end == last_end and goal is None:
                outermost[number] = (start, end, final)
    lines = []
    for number in sorted(first_starts):
        first_start, start_number = first_starts[number]
        indent_line = kept_lines[start_number if start_number < last_kept else last_kept]
        state = outermost.get(number)
        lines.append(_Line(
            line_ends[number], first_start, indent_line[: len(indent_line) - len(indent_line.lstrip(" "))],
            state is not None, None if state is None else state[2],
        ))
    return lines


def _final_state(run: LeanRun, lines: LineIndex, proof_start: int) -> str | None:
    """The trace gives no state after the last tactic of an unfinished proof; Lean's
    `unsolved goals` error at the proof's own `by` (before the proof text) holds it."""
    for message in run.messages:
        if message.severity == "error":
            text = message.data.lstrip()
            if text.startswith("unsolved goals") and lines.offset(message.pos) < proof_start:
                return text.removeprefix("unsolved goals").strip("\n")
    return None


def truncation_point(run: LeanRun, lines: LineIndex, proof_start: int, proof_length: int) -> int:
    """Offset in the proof of its first real error or sorry (the proof's length if none)."""
    cut = proof_length
    for message in run.messages:
        if message.severity == "error" and not message.data.lstrip().startswith("unsolved goals"):
            cut = _earlier(cut, message.pos, lines, proof_start)
    for sorry in run.sorries:
        if sorry.pos is not None:
            cut = _earlier(cut, sorry.pos, lines, proof_start)
    return cut


def _earlier(cut: int, pos: Pos, lines: LineIndex, proof_start: int) -> int:
    """`cut`, or the proof offset of `pos` if that lies in the proof before it."""
    offset = lines.offset(pos) - proof_start
    return offset if pos.line > 0 and 0 <= offset < cut else cut


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
