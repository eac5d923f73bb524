"""A stand-in for `lake env` in the certified tier's tests. Tests only.

    fake_lake.py env lean -o OUT.olean FILE.lean
        "Compiles" FILE: writes its text to OUT as JSON, or prints a Lean-style error for FAIL.
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
    Path(out).write_text(json.dumps({"text": text}), encoding="utf-8")
    return 0


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
