"""The REPL protocol against the REPL's own recorded transcripts (the ground truth here)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from lean_prover.lean_env.protocol import (
    CommandRequest,
    CommandResponse,
    ErrorResponse,
    ProofStateResponse,
    ProtocolError,
    TacticRequest,
    encode_request,
    parse_request,
    parse_response,
    split_messages,
)
from lean_prover.lean_env.repl import ReplProcess, ReplSettings
from tests.conftest import FAKE_REPL, TRANSCRIPTS, transcript_pairs

PAIRS = transcript_pairs()
IDS = [str(i.relative_to(TRANSCRIPTS)) for i, _ in PAIRS]


def unknown_fields(model: object) -> list[str]:
    """Fields the models did not recognise, anywhere in the tree."""
    found: list[str] = []
    if isinstance(model, BaseModel):
        found += [f"{type(model).__name__}.{k}" for k in (model.model_extra or {})]
        for name in type(model).model_fields:
            found += unknown_fields(getattr(model, name))
    elif isinstance(model, list):
        for item in model:
            found += unknown_fields(item)
    return found


def read_pair(requests: Path, answers: Path) -> tuple[list[dict], list[dict]]:
    return (
        [json.loads(c) for c in split_messages(requests.read_text(encoding="utf-8"))],
        [json.loads(c) for c in split_messages(answers.read_text(encoding="utf-8"))],
    )


def test_all_transcripts_are_here(shared_data: Path) -> None:
    assert len([p for p in PAIRS if p[0].parent == TRANSCRIPTS]) == 55
    assert len([p for p in PAIRS if p[0].parent.name == "mathlib"]) == 16


@pytest.mark.parametrize("requests, answers", PAIRS, ids=IDS)
def test_transcript_parses_with_nothing_lost(requests: Path, answers: Path) -> None:
    sent, received = read_pair(requests, answers)
    assert len(sent) == len(received)
    for data in sent:
        request = parse_request(data)
        assert request.to_json_dict() == data
        assert unknown_fields(request) == []
    for data in received:
        response = parse_response(data)
        assert response.to_json_dict() == data
        assert unknown_fields(response) == []


@pytest.mark.parametrize("requests, answers", PAIRS, ids=IDS)
def test_transcript_replays_through_the_client(requests: Path, answers: Path) -> None:
    sent, received = read_pair(requests, answers)

    async def replay() -> list[dict]:
        settings = ReplSettings(command=(sys.executable, str(FAKE_REPL), "replay", str(requests), str(answers)))
        repl = await ReplProcess.start(settings)
        try:
            return [(await repl.send(parse_request(data))).to_json_dict() for data in sent]
        finally:
            await repl.close()

    assert asyncio.run(replay()) == received


def test_framing_is_one_line_and_a_blank_line() -> None:
    text = encode_request(CommandRequest(cmd="theorem t : 1 = 1 := by\n  rfl", env=3, all_tactics=True))
    assert text.endswith("}\n\n") and text.count("\n") == 2
    assert json.loads(text) == {"cmd": "theorem t : 1 = 1 := by\n  rfl", "env": 3, "allTactics": True}
    assert encode_request(TacticRequest(tactic="simp", proof_state=0)) == '{"tactic": "simp", "proofState": 0}\n\n'


def test_raw_newlines_inside_a_request_are_dropped_as_the_repl_does() -> None:
    # The REPL joins the lines of a request: the recorded answer says `bysorry`.
    (chunk,) = split_messages('{"cmd": "theorem foo : 1 = 1 := by\nsorry"}\n')
    assert json.loads(chunk)["cmd"] == "theorem foo : 1 = 1 := bysorry"


@pytest.mark.parametrize(
    "data, kind",
    [
        ({"env": 0}, CommandResponse),
        ({"proofState": 1, "goals": [], "proofStatus": "Completed"}, ProofStateResponse),
        ({"message": "Unknown environment."}, ErrorResponse),
    ],
)
def test_responses_are_told_apart(data: dict, kind: type) -> None:
    assert isinstance(parse_response(data), kind)


@pytest.mark.parametrize("data", [[1, 2], {"foo": 1}, {"env": "zero"}, {"messages": [{"severity": "loud"}], "env": 0}])
def test_malformed_answers_raise_protocol_error(data: object) -> None:
    with pytest.raises(ProtocolError):
        parse_response(data)


def test_malformed_requests_raise_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_request({"nothing": 1})
    with pytest.raises(ProtocolError):
        parse_request({"tactic": "simp"})  # no proofState
