"""Problems from JSONL in the schema of DeepSeek-Prover-V1.5's `datasets/*.jsonl`.

One JSON object a line with `name`, `split`, `informal_prefix`, `formal_statement`, `goal`,
`header`. `name` and `formal_statement` are required; the others default to empty.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from lean_prover.data.errors import DataError
from lean_prover.data.problem import Problem
from lean_prover.data.problem_ids import assign_ids
from lean_prover.data.text_files import read_bytes

logger = logging.getLogger(__name__)

REQUIRED_FIELDS = ("name", "formal_statement")
OPTIONAL_FIELDS = ("split", "header", "informal_prefix", "goal")


def load_jsonl(path: Path, source: str | None = None, skip_bad: bool = False) -> list[Problem]:
    """Read every problem of a JSONL file, byte-identical to its text.

    A bad line raises DataError naming the file and line, or, with `skip_bad`, is logged
    and skipped so that the good lines still load.
    """
    source = source or str(path)
    problems = []
    for number, raw_line in enumerate(read_bytes(path).split(b"\n"), start=1):
        if not raw_line.strip():
            continue
        try:
            problems.append(parse_line(raw_line, source))
        except DataError as error:
            message = f"{path}:{number}: {error}"
            if not skip_bad:
                raise DataError(f"{message}; fix the line, or pass --skip-bad to skip bad lines") from error
            logger.warning("skipped %s", message)
    return assign_ids(problems)


def parse_line(raw_line: bytes, source: str) -> Problem:
    try:
        record = json.loads(raw_line.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise DataError(f"not UTF-8 (byte {error.start} of the line)") from error
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, found {type(record).__name__}")
    missing = [field for field in REQUIRED_FIELDS if field not in record]
    if missing:
        raise DataError(f"missing field {', '.join(repr(f) for f in missing)}")
    for field in REQUIRED_FIELDS + OPTIONAL_FIELDS:
        if field in record and not isinstance(record[field], str):
            raise DataError(f"field {field!r} must be a string, found {type(record[field]).__name__}")
    return Problem(
        name=record["name"],
        split=record.get("split", ""),
        header=record.get("header", ""),
        informal_prefix=record.get("informal_prefix", ""),
        formal_statement=record["formal_statement"],
        goal=record.get("goal", ""),
        source=source,
    )


@dataclass(frozen=True)
class SolvedExample:
    """A problem with a known proof (few-shot prompts, supervised data)."""

    problem: Problem
    formal_proof: str
    has_header: bool
    """Whether the source gave a header (DeepSeek-Prover-V1.5 substitutes its default if not)."""


def load_solved_examples(path: Path, source: str | None = None) -> list[SolvedExample]:
    """Problems with a `formal_proof` field, e.g. `minif2f_valid_few_shot.jsonl`. Raises DataError."""
    examples = []
    for number, raw_line in enumerate(read_bytes(path).split(b"\n"), start=1):
        if not raw_line.strip():
            continue
        try:
            problem = parse_line(raw_line, source or str(path))
            record = json.loads(raw_line)
            proof = record.get("formal_proof")
            if not isinstance(proof, str):
                raise DataError("missing field 'formal_proof'")
        except DataError as error:
            raise DataError(f"{path}:{number}: {error}") from error
        examples.append(SolvedExample(problem, proof, has_header="header" in record))
    return examples
