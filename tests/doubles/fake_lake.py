"""A stand-in for `lake env` in the certified tier's tests. Tests only.

    fake_lake.py env lean -o OUT.olean FILE.lean
        "Compiles" FILE: writes its text, imports and constants to OUT as JSON (a computable
        definition also leaves the unsafe `_cstage1`/`_cstage2` constants Lean 4.15's code
        generator keeps), or prints a Lean-style error for FAIL.
        HANG_COMPILE sleeps; TAMPER_CHECKER overwrites the checker binary (as code run by a
        malicious proof could).
    fake_lake.py env PROGRAM ARGS...
        Runs PROGRAM (the fake checker that the test put where `prover setup` builds the real one).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from lean_session import _split_signature
from lean_syntax import DECLARATION_KINDS, ident_parts, read_commands


def compile_file(out: str, source: str) -> int:
    text = Path(source).read_text(encoding="utf-8")
    with open(Path.cwd() / "compiles.log", "a", encoding="utf-8") as log:  # which folder: candidate or reference
        log.write(Path(source).parent.name + "\n")
    if "HANG_COMPILE" in text:
        time.sleep(3600)
    if "TAMPER_CHECKER" in text:
        checker = Path.cwd() / ".lake" / "build" / "bin" / "prover_certify"
        checker.write_text(checker.read_text() + "\n# tampered\n")
    if "FAIL" in text:
        line = text[: text.index("FAIL")].count("\n") + 1
        print(f"{source}:{line}:2: error: unknown tactic")
        return 1
    Path(out).write_text(json.dumps(module(text)), encoding="utf-8")
    return 0


def module(text: str) -> dict:
    """What an `.olean` of `text` holds, as far as the fake checker reads it."""
    imports = [line.split()[1] for line in text.splitlines() if line.startswith("import ")]
    body = "\n".join(line if not line.startswith("import ") else "" for line in text.splitlines())
    constants: dict[str, dict] = {}
    unsafe: list[str] = []
    for command in read_commands(body).commands:
        if command.keyword not in DECLARATION_KINDS or not command.declared:
            continue
        name = ".".join(command.declared)
        signature, _ = _split_signature(command.tokens)
        constants[name] = {"kind": command.keyword, "signature": " ".join(t.text for t in signature),
                           "mentions": [ident_parts(t.text)[-1] for t in signature if t.kind == "ident"]}
        if command.keyword in ("def", "abbrev", "instance") and "noncomputable" not in command.modifiers:
            unsafe += [f"{name}._cstage1", f"{name}._cstage2"]
    return {"text": text, "imports": imports, "constants": constants, "unsafe": unsafe}


def main() -> int:
    assert sys.argv[1] == "env", sys.argv
    program, *args = sys.argv[2:]
    if program == "lean":
        assert args[0] == "-o", args
        return compile_file(args[1], args[2])
    os.execv(program, [program, *args])
    return 1


if __name__ == "__main__":
    sys.exit(main())
