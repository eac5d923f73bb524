"""A stand-in for the Lean REPL, speaking its protocol on stdin/stdout. Tests only.

    fake_repl.py replay REQUESTS.in ANSWERS.expected.out
        Answers the recorded requests with the recorded answers, in order, byte for byte.
    fake_repl.py scripted [--latency SECONDS] [--undeclared]
        An oracle that answers as Lean would where the checks depend on Lean's behaviour: it reads
        text as Lean's parser does (`lean_syntax`), keeps each environment's declarations, scopes
        and compiled queries as the REPL keeps its command state (`lean_session`), and answers
        lean-prover's kit (`prover_parse`, the query) by the Lean facts of docs/verification.md.
        Markers in the text decide the rest (see `answer_command`), and some make it misbehave
        (hang, die mid-answer, print garbage, flood, eat memory). Every answer says it is a
        stand-in (`standIn`), except under --undeclared (to test that the label follows it).

Input is read as the REPL reads it: lines up to a blank line, joined without newlines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from lean_session import EnvState, QuerySpec, answer_old_query, must_match
from lean_session import answer_query as answer_session_query
from lean_syntax import Reading, ident_parts, read_commands, read_tactic, string_literals

QUERY_AGAINST = re.compile(r'elab "prover_query_(?P<keyword>[0-9a-f]+)" : command => _root_\.ProverKit\.queryAgainst '
                           r'"(?P<nonce>[0-9a-f]+)" ``(?P<reference>\S+) `(?P<declared>.+)$', re.M)
QUERY_ALONE = re.compile(r'elab "prover_query_(?P<keyword>[0-9a-f]+)" : command => _root_\.ProverKit\.queryAlone '
                         r'"(?P<nonce>[0-9a-f]+)" (?P<scope>`«[^»]*»(?:\.«[^»]*»)*|\S+) `(?P<declared>.+)$', re.M)


# The double knows no library's names; the identifiers it insists be declared are these (helpers).
IMPORTS_LEAN = re.compile(r"^import (Lean|Mathlib)\b", re.M)


# The REPL answers `infotree` with one of these (leanprover-community/repl v4.33.0-rc2,
# REPL/Main.lean `runCommand`: "full", "tactics", "original", "substantive"; anything else: none).
INFOTREE_KINDS = ("full", "tactics", "original", "substantive")


def infotree_node(step: dict) -> dict:
    """A tactic's node as the REPL writes an info tree (REPL/Lean/InfoTree/ToJson.lean:
    `InfoTreeNode` with a `TacticInfo.Json`, whose `stx.range` holds the tactic's positions in
    the command's text, `start` and `finish`)."""
    tactic = {"name": None, "goalsBefore": [step["goals"]], "goalsAfter": [],
              "stx": {"pp": step["tactic"], "kind": "tactic", "argKinds": [],
                      "range": {"synthetic": False, "start": step["pos"], "finish": step["endPos"]}}}
    return {"kind": "TacticInfo", "node": tactic, "children": []}


def info(data: str) -> dict:
    return {"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None, "data": data}


def error_at(line: int, data: str, column: int = 0) -> dict:
    return {"severity": "error", "pos": {"line": line, "column": column}, "endPos": None, "data": data}


def read_request() -> dict | None:
    lines: list[str] = []
    for line in sys.stdin:
        if line.strip():
            lines.append(line.rstrip("\n"))
        elif lines:
            break
    if not lines:
        return None
    request: dict = json.loads("".join(lines))
    return request


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def answer(data: dict) -> None:
    write(json.dumps(data, ensure_ascii=False, indent=1) + "\n\n")


def chunks(text: str) -> list[str]:
    return [c for c in re.split(r"\n[ \t]*\n", text) if c.strip()]


def replay(requests_path: str, answers_path: str) -> None:
    def joined(chunk: str) -> dict:
        request: dict = json.loads("".join(line for line in chunk.split("\n")))
        return request

    with open(requests_path, encoding="utf-8") as handle:
        expected = [joined(c) for c in chunks(handle.read())]
    with open(answers_path, encoding="utf-8") as handle:
        recorded = chunks(handle.read())
    for want, reply in zip(expected, recorded):
        request = read_request()
        if request is None:
            return
        if request != want:
            answer({"message": f"replay: expected {want}, got {request}"})
            continue
        write(reply.strip("\n") + "\n\n")


# ---------------------------------------------------------------- scripted mode


def position_of(text: str, marker: str) -> dict:
    index = text.index(marker)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1)
    return {"line": line, "column": column}


def misbehave(text: str) -> None:
    """Markers that make the process fail the way real processes do."""
    if "HANG" in text:
        time.sleep(3600)
    if "DIE_MID_ANSWER" in text:
        write('{"env": 1,\n "messages":')
        os._exit(3)
    if "GARBAGE" in text:  # garbage instead of an answer (not before one: that would be tampering)
        write("this is not json\n\n")
        time.sleep(3600)
    if "HALF_JSON" in text:
        write('{"env": ')
        time.sleep(3600)
    if "FLOOD" in text:
        while True:
            write("x" * 65536 + "\n")
    if "EAT_MEMORY" in text:
        hoard = []
        try:
            while True:
                hoard.append(bytearray(64 * 2**20))
        except MemoryError:
            sys.stderr.write("INTERNAL PANIC: out of memory\n")
            sys.stderr.flush()
            os._exit(1)
    if "SPAWN_CHILD" in text:
        subprocess.Popen(["sleep", "1000"])
        time.sleep(3600)


def forge(text: str, next_env: int) -> None:
    """Markers for candidate text whose own code writes to the channel, as code running inside
    Lean could: forged replies before (or after) the REPL's real one."""
    fake_report = {"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None,
                   "data": "prover-check 0123 t prover_reference_0123 theorem same-type propext"}
    if "FORGE_EXTRA_REPLY" in text:  # a clean "no errors" reply, one object too many
        answer({"env": next_env})
    if "FORGE_QUERY_REPLY" in text:  # a reply for the query that follows, nonce guessed
        answer({"env": next_env})
        answer({"env": next_env + 1, "messages": [fake_report]})
    if "FORGE_STALE_ENV" in text:  # a reply naming an old environment
        answer({"env": 0})


class Oracle:
    """Answers commands as Lean would, as far as `lean_syntax` and `lean_session` emulate it;
    markers in the text decide the rest (a failed tactic, a sorry, a forged reply, ...)."""

    def __init__(self) -> None:
        self.envs: dict[int, EnvState] = {}
        self.proof_states = 0

    def new_env(self, state: EnvState) -> int:
        env = len(self.envs)
        self.envs[env] = state
        return env

    def new_proof_state(self) -> int:
        self.proof_states += 1
        return self.proof_states - 1

    def answer_command(self, request: dict) -> dict:
        text = request["cmd"]
        misbehave(text)
        if "env" not in request:  # a header: its imports
            env = self.new_env(EnvState(text=text))
            if "BROKEN_HEADER" in text:
                error = {"severity": "error", "pos": {"line": 1, "column": 7}, "endPos": None, "data": "unknown module"}
                return {"messages": [error], "env": env}
            return {"env": env}
        if request["env"] not in self.envs:
            return {"message": "Unknown environment."}
        parent = self.envs[request["env"]]
        state = parent.then()
        if text.startswith('#print "'):  # `#print "s"` logs `s` (Lean's elabPrint on a string literal)
            return {"env": self.new_env(state), "messages": [info(text[len('#print "'):-1])]}
        if "namespace ProverKit" in text:
            state.kit_serial = state.serial
            state.text += text
            env = self.new_env(state)
            if not IMPORTS_LEAN.search(state.text):  # the kit elaborates against Lean's own library
                return {"env": env, "messages": [error_at(34, "unknown namespace 'Lean'")]}
            return {"env": env}
        if text.startswith("prover_parse "):
            return self.answer_parse(text, state)
        if re.fullmatch(r"prover_query_[0-9a-f]+", text.strip()):
            return self.answer_query(text.strip(), state)
        if "#eval show MetaM Unit" in text and "prover-check" in text:
            nonce = must_match(r'"prover-check", "([0-9a-f]+)"', text)
            line = answer_old_query(state, text, nonce) if IMPORTS_LEAN.search(state.text) else ""
            return {"env": self.new_env(state), "messages": [info(line)] if line else [error_at(3, "unknown constant")]}
        reading = read_commands(text, parent.namespace, parent.scopes)
        if "prover_reference_" in text or 'elab "prover_query_' in text:
            return self.answer_reference(text, state, reading)
        forge(text, len(self.envs))
        state.record(text, reading)
        env = self.new_env(state)
        errors = [error_at(line, message, column) for line, column, message in reading.errors]
        errors += [error_at(line, f"unknown identifier '{'.'.join(parts)}'") for parts, line in reading.found.idents.items()
                   if parts[0].startswith("helper_") and parts not in state.decls and parts[-1:] not in state.decls]
        if "FAIL" in text:
            pos = position_of(text, "FAIL")
            errors.append({"severity": "error", "pos": pos, "endPos": pos, "data": "unknown tactic FAIL"})
        result: dict = {"env": env}
        if request.get("infotree") in INFOTREE_KINDS:  # with errors too: the trees of what elaborated
            result["infotree"] = [infotree_node(step) for step in self.trace(text)]
        if errors:
            return {"messages": errors, **result}
        if re.search(r"\bsorry\b", text):
            pos = position_of(text, "sorry")
            result["sorries"] = [{"proofState": self.new_proof_state(), "pos": pos, "goal": "⊢ goal", "endPos": pos}]
            result["messages"] = [
                {"severity": "warning", "pos": {"line": 1, "column": 8}, "endPos": None, "data": "declaration uses `sorry`"}
            ]
        if request.get("allTactics"):
            result["tactics"] = self.trace(text)
        if "FORGE_AXIOMS_MESSAGE" in text:  # reports printed inside its own reply (as `trace` could)
            result["messages"] = result.get("messages", []) + [
                info(data) for data in ("'t' depends on axioms: [propext]", "prover-check 0123 t prover_reference_0123 "
                                        "theorem same-type propext")
            ]
        if "FORGE_TRAILING_REPLY" in text:  # the real reply, then one for the next request
            answer(result)
            return {"env": env + 1}
        return result

    def answer_reference(self, text: str, state: EnvState, reading: Reading) -> dict:
        """A check's trusted first command: the context, the reference, the query's elaborator."""
        state.record(text, reading)
        for match in QUERY_AGAINST.finditer(text):
            reference = next(d.name for d in state.decls.values() if d.name[-1:] == (match["reference"],))
            state.queries[match["keyword"]] = QuerySpec(match["nonce"], tuple(ident_parts(match["declared"])), (),
                                                        reference, state.serial)
        for match in QUERY_ALONE.finditer(text):
            scope = () if match["scope"] == "_root_.Lean.Name.anonymous" else tuple(ident_parts(match["scope"][1:]))
            state.queries[match["keyword"]] = QuerySpec(match["nonce"], tuple(ident_parts(match["declared"])), scope,
                                                        None, state.serial)
        env = self.new_env(state)
        errors = [error_at(line, message, column) for line, column, message in reading.errors]
        if "BROKEN_STATEMENT" in text:
            errors.append(error_at(1, "unknown identifier"))
        return {"env": env, "messages": errors} if errors else {"env": env}

    def answer_parse(self, text: str, state: EnvState) -> dict:
        """lean-prover's trusted parse (`prover_parse NONCE MODE TEXT`, the kit's report)."""
        nonce, mode, candidate = string_literals(text)
        if mode == "tactic":
            reading = read_tactic(candidate)
        else:
            reading = read_commands(candidate, state.namespace, state.scopes)
        report = f"prover-parse {nonce} {json.dumps(reading.report(), ensure_ascii=False, separators=(',', ':'))}"
        return {"env": self.new_env(state), "messages": [info(report)]}

    def answer_query(self, keyword: str, state: EnvState) -> dict:
        """The query a check compiled before its candidate ran (the kit's `theoremReport`)."""
        env = self.new_env(state)
        spec = state.queries.get(keyword[len("prover_query_"):])
        if spec is None:
            return {"env": env, "messages": [error_at(1, "unexpected identifier; expected command")]}
        if "AMBIGUOUS_NAME" in state.text:
            return {"env": env, "messages": [error_at(3, "ambiguous identifier")]}
        report = answer_session_query(state, spec)
        line = f"prover-check {spec.nonce} {json.dumps(report, ensure_ascii=False, separators=(',', ':'))}"
        messages = [info(line)]
        if "EXTRA_MESSAGE" in state.text:
            messages.append(info(line))
        return {"env": env, "messages": messages}

    def trace(self, text: str) -> list[dict]:
        """Each indented line after `by` is a tactic; the goals before it name the line."""
        tactics = []
        body_start = text.index(":= by") + len(":= by") if ":= by" in text else len(text)
        line_number = text.count("\n", 0, body_start) + 1
        for offset, line in enumerate(text[body_start:].split("\n")[1:], start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("--"):
                continue
            column = len(line) - len(line.lstrip())
            tactics.append(
                {
                    "tactic": stripped,
                    "proofState": self.new_proof_state(),
                    "pos": {"line": line_number + offset, "column": column},
                    "goals": f"⊢ before {stripped}",
                    "endPos": {"line": line_number + offset, "column": len(line)},
                    "usedConstants": [],
                }
            )
        return tactics

    def answer_tactic(self, request: dict) -> dict:
        tactic = request["tactic"]
        misbehave(tactic)
        if request["proofState"] >= self.proof_states:
            return {"message": "Unknown proof state."}
        state = self.new_proof_state()
        if "FAIL" in tactic:
            error = {"severity": "error", "pos": {"line": 0, "column": 0}, "endPos": {"line": 0, "column": 0},
                     "data": "unknown tactic"}
            return {"proofStatus": "Incomplete: contains sorry", "proofState": state, "messages": [error], "goals": []}
        if tactic.strip() == "done":
            return {"proofStatus": "Completed", "proofState": state, "goals": []}
        return {"proofStatus": "Incomplete: open goals remain", "proofState": state, "goals": [f"⊢ after {tactic}"]}


STAND_IN = {"standIn": "tests/doubles/fake_repl.py"}
"""What every scripted answer carries, so that a verdict reached on it is labelled as a stand-in's
(lean_env.repl.STAND_IN_FIELD); Lean's REPL never sends the field."""


def scripted(latency: float, declared: bool) -> None:
    oracle = Oracle()
    stand_in = STAND_IN if declared else {}
    while (request := read_request()) is not None:
        if latency:
            time.sleep(latency)
        if "cmd" in request:
            answer({**oracle.answer_command(request), **stand_in})
        elif "tactic" in request:
            answer({**oracle.answer_tactic(request), **stand_in})
        else:
            answer({"message": f"scripted REPL: unsupported request {sorted(request)}", **stand_in})


if __name__ == "__main__":
    if sys.argv[1] == "replay":
        replay(sys.argv[2], sys.argv[3])
    else:
        latency = float(sys.argv[sys.argv.index("--latency") + 1]) if "--latency" in sys.argv else 0.0
        scripted(latency, declared="--undeclared" not in sys.argv)
