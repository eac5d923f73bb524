"""A stand-in for the Lean REPL, speaking its protocol on stdin/stdout. Tests only.

    fake_repl.py replay REQUESTS.in ANSWERS.expected.out
        Answers the recorded requests with the recorded answers, in order, byte for byte.
    fake_repl.py scripted [--latency SECONDS]
        A rule-based oracle: markers in the text decide the answer (see `answer_command`), and
        some markers make it misbehave (hang, die mid-answer, print garbage, flood, eat memory).

Input is read as the REPL reads it: lines up to a blank line, joined without newlines.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time


def read_request() -> dict | None:
    lines: list[str] = []
    for line in sys.stdin:
        if line.strip():
            lines.append(line.rstrip("\n"))
        elif lines:
            break
    if not lines:
        return None
    return json.loads("".join(lines))


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def answer(data: dict) -> None:
    write(json.dumps(data, ensure_ascii=False, indent=1) + "\n\n")


def chunks(text: str) -> list[str]:
    return [c for c in re.split(r"\n[ \t]*\n", text) if c.strip()]


def replay(requests_path: str, answers_path: str) -> None:
    def joined(chunk: str) -> dict:
        return json.loads("".join(line for line in chunk.split("\n")))

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
    def __init__(self) -> None:
        self.envs: dict[int, str] = {}
        self.proof_states = 0

    def new_env(self, text: str) -> int:
        env = len(self.envs)
        self.envs[env] = text
        return env

    def new_proof_state(self) -> int:
        self.proof_states += 1
        return self.proof_states - 1

    def answer_command(self, request: dict) -> dict:
        text = request["cmd"]
        misbehave(text)
        if "env" not in request:  # a header
            env = self.new_env(text)
            if "BROKEN_HEADER" in text:
                error = {"severity": "error", "pos": {"line": 1, "column": 7}, "endPos": None, "data": "unknown module"}
                return {"messages": [error], "env": env}
            return {"env": env}
        if request["env"] not in self.envs:
            return {"message": "Unknown environment."}
        parent = self.envs[request["env"]]
        if text.startswith('#print "'):
            env = self.new_env(text)
            return {"env": env, "messages": [{"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None,
                                              "data": text[len('#print "'):-1]}]}
        if "#eval show MetaM Unit" in text and "prover-check" in text:
            return self.answer_query(text, self.envs[request["env"]])
        if re.search(r"theorem prover_reference_[0-9a-f]+ ", text):
            env = self.new_env(parent + text)
            if "BROKEN_STATEMENT" in text:
                error = {"severity": "error", "pos": {"line": 1, "column": 0}, "endPos": None, "data": "unknown identifier"}
                return {"messages": [error], "env": env}
            return {"env": env}
        forge(text, len(self.envs))
        env = self.new_env(parent + text)
        if "FAIL" in text:
            pos = position_of(text, "FAIL")
            error = {"severity": "error", "pos": pos, "endPos": pos, "data": "unknown tactic FAIL"}
            return {"messages": [error], "env": env}
        result: dict = {"env": env}
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
                {"severity": "info", "pos": {"line": 1, "column": 0}, "endPos": None, "data": data}
                for data in ("'t' depends on axioms: [propext]", "prover-check 0123 t prover_reference_0123 "
                             "theorem same-type propext")
            ]
        if "FORGE_TRAILING_REPLY" in text:  # the real reply, then one for the next request
            answer(result)
            return {"env": env + 1}
        return result

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

    def answer_query(self, text: str, proved_text: str) -> dict:
        """The trusted query's one report, as Lean's `#eval` of it would print it."""
        env = self.new_env(text)
        name = re.search(r"mkIdent `(\S+)\)\n  let reference", text)[1]
        reference = re.search(r"mkIdent `(prover_reference_[0-9a-f]+)\)", text)[1]
        nonce = re.search(r'"prover-check", "([0-9a-f]+)"', text)[1]
        if "AMBIGUOUS_NAME" in proved_text:
            error = {"severity": "error", "pos": {"line": 3, "column": 2}, "endPos": None, "data": "ambiguous identifier"}
            return {"messages": [error], "env": env}
        axioms = ["propext", "Classical.choice", "Quot.sound"]
        if "CHEAT_AXIOM" in proved_text:
            axioms.append("cheatAx")
        if re.search(r"\bsorry\b", proved_text) and "exact helper" in proved_text:
            axioms.append("sorryAx")  # as Lean does for a theorem that uses a sorry lemma
        if "NO_AXIOMS" in proved_text:
            axioms = []
        namespace = "Other." if "OTHER_NAMESPACE" in proved_text else ""
        same = "other-type" if "WRONG_TYPE" in proved_text else "same-type"
        kind = "other" if "NOT_A_THEOREM" in proved_text else "theorem"
        report = f"prover-check {nonce} {namespace}{name} {reference} {kind} {same} {','.join(axioms)}"
        messages = [{"severity": "info", "pos": {"line": 2, "column": 0}, "endPos": None, "data": report}]
        if "EXTRA_MESSAGE" in proved_text:
            messages.append({"severity": "info", "pos": {"line": 2, "column": 0}, "endPos": None, "data": report})
        return {"messages": messages, "env": env}

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


def scripted(latency: float) -> None:
    oracle = Oracle()
    while (request := read_request()) is not None:
        if latency:
            time.sleep(latency)
        if "cmd" in request:
            answer(oracle.answer_command(request))
        elif "tactic" in request:
            answer(oracle.answer_tactic(request))
        else:
            answer({"message": f"scripted REPL: unsupported request {sorted(request)}"})


if __name__ == "__main__":
    if sys.argv[1] == "replay":
        replay(sys.argv[2], sys.argv[3])
    else:
        latency = float(sys.argv[sys.argv.index("--latency") + 1]) if "--latency" in sys.argv else 0.0
        scripted(latency)
