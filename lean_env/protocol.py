"""The JSON protocol of the Lean REPL (leanprover-community/repl) as frozen typed models.

Field names follow the REPL (camelCase on the wire, snake_case here). A response keeps every
field it was sent, including fields this version does not know (`model_extra`), so that
re-encoding gives back the same JSON. Framing: each request is one JSON object followed by a
blank line; each answer is a JSON object, possibly over several lines, followed by a blank line.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lean_prover.lean_env.errors import LeanEnvError


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")

    def to_json_dict(self) -> dict[str, Any]:
        """The wire form: camelCase names, only the fields that were given."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


# ---------------------------------------------------------------- requests


class CommandRequest(_Model):
    """Run Lean commands, in a fresh environment or on top of `env`."""

    cmd: str
    env: int | None = None
    """Environment to continue from; absent means a fresh one (imports allowed)."""
    all_tactics: bool | None = Field(default=None, alias="allTactics")
    """Report every tactic with the goals before it and its proof state."""
    root_goals: bool | None = Field(default=None, alias="rootGoals")
    """Report the root goal of each declaration as a sorry with a proof state."""
    infotree: str | None = None
    """Return the info tree: `full`, `tactics`, `original` or `substantive`."""


class FileRequest(_Model):
    """Run a whole `.lean` file."""

    path: str
    env: int | None = None
    all_tactics: bool | None = Field(default=None, alias="allTactics")
    root_goals: bool | None = Field(default=None, alias="rootGoals")
    infotree: str | None = None


class TacticRequest(_Model):
    """Run one tactic on a proof state (tactic mode)."""

    tactic: str
    proof_state: int = Field(alias="proofState")


class PickleEnvRequest(_Model):
    pickle_to: str = Field(alias="pickleTo")
    env: int


class PickleProofStateRequest(_Model):
    pickle_to: str = Field(alias="pickleTo")
    proof_state: int = Field(alias="proofState")


class UnpickleEnvRequest(_Model):
    unpickle_env_from: str = Field(alias="unpickleEnvFrom")


class UnpickleProofStateRequest(_Model):
    unpickle_proof_state_from: str = Field(alias="unpickleProofStateFrom")
    env: int | None = None
    """Environment in which to rebuild the proof state."""


Request = Union[
    CommandRequest,
    FileRequest,
    TacticRequest,
    PickleEnvRequest,
    PickleProofStateRequest,
    UnpickleEnvRequest,
    UnpickleProofStateRequest,
]


# ---------------------------------------------------------------- responses


class Pos(_Model):
    line: int
    """1-based line (0 when Lean gives no position)."""
    column: int
    """0-based column, in Unicode code points."""


class Message(_Model):
    severity: Literal["error", "warning", "info", "trace"]
    pos: Pos
    end_pos: Pos | None = Field(default=None, alias="endPos")
    data: str


class Sorry(_Model):
    goal: str
    proof_state: int | None = Field(default=None, alias="proofState")
    """A proof state to continue from in tactic mode."""
    pos: Pos | None = None
    end_pos: Pos | None = Field(default=None, alias="endPos")


class Tactic(_Model):
    """One tactic of an `allTactics` answer: its text, where it is, the goals before it."""

    tactic: str
    goals: str
    """The goals before the tactic, as Lean prints them."""
    proof_state: int = Field(alias="proofState")
    pos: Pos
    end_pos: Pos = Field(alias="endPos")
    used_constants: list[str] = Field(default_factory=list, alias="usedConstants")


class CommandResponse(_Model):
    """The answer to a command, a file, or an environment (un)pickle."""

    env: int
    messages: list[Message] = Field(default_factory=list)
    sorries: list[Sorry] = Field(default_factory=list)
    tactics: list[Tactic] | None = None
    infotree: list[dict[str, Any]] | None = None
    """Info tree nodes as the REPL sends them (their shape depends on the `infotree` mode)."""

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.severity == "error"]


class ProofStateResponse(_Model):
    """The answer to a tactic, or to a proof-state (un)pickle."""

    proof_state: int = Field(alias="proofState")
    goals: list[str]
    proof_status: str | None = Field(default=None, alias="proofStatus")
    """`Completed`, or `Incomplete: ...` with the reason (open goals, sorry, metavariables)."""
    messages: list[Message] = Field(default_factory=list)
    sorries: list[Sorry] = Field(default_factory=list)
    traces: list[str] | None = None


class ErrorResponse(_Model):
    """The REPL refused the request (unknown environment, a tactic that threw, ...)."""

    message: str


Response = Union[CommandResponse, ProofStateResponse, ErrorResponse]


class ProtocolError(LeanEnvError, ValueError):
    """JSON that is not a request or response of the REPL protocol."""


_REQUEST_TYPES: list[tuple[str, type[_Model]]] = [
    ("cmd", CommandRequest),
    ("path", FileRequest),
    ("tactic", TacticRequest),
    ("unpickleEnvFrom", UnpickleEnvRequest),
    ("unpickleProofStateFrom", UnpickleProofStateRequest),
]


def parse_request(data: Any) -> Request:
    """A request from its JSON object (used to read recorded transcripts)."""
    if not isinstance(data, dict):
        raise ProtocolError(f"a request is a JSON object, not {type(data).__name__}")
    try:
        if "pickleTo" in data:
            return (PickleProofStateRequest if "proofState" in data else PickleEnvRequest).model_validate(data)
        for key, kind in _REQUEST_TYPES:
            if key in data:
                return kind.model_validate(data)  # type: ignore[return-value]
    except ValidationError as error:
        raise ProtocolError(f"malformed request: {error}") from error
    raise ProtocolError(f"not a REPL request: keys {sorted(data)}")


def parse_response(data: Any) -> Response:
    """A response from its JSON object. Raises ProtocolError for anything else."""
    if not isinstance(data, dict):
        raise ProtocolError(f"a response is a JSON object, not {type(data).__name__}")
    try:
        if "proofState" in data and "env" not in data:
            return ProofStateResponse.model_validate(data)
        if "env" in data:
            return CommandResponse.model_validate(data)
        if "message" in data:
            return ErrorResponse.model_validate(data)
    except ValidationError as error:
        raise ProtocolError(f"malformed REPL answer: {error.errors()[0]['msg']}") from error
    raise ProtocolError(f"not a REPL answer: keys {sorted(data)[:10]}")


def encode_request(request: Request) -> str:
    """The bytes to write to the REPL's stdin: one line of JSON, then a blank line."""
    return json.dumps(request.to_json_dict(), ensure_ascii=False) + "\n\n"


def split_messages(text: str) -> list[str]:
    """Split a stream of blank-line-separated JSON objects the way the REPL reads its input:
    the lines of one object are joined without their newlines (a raw newline inside a JSON
    string is dropped, as in the REPL's `invalid_line_break` test)."""
    chunks: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            chunks.append("".join(current))
            current = []
    if current:
        chunks.append("".join(current))
    return chunks
