"""A stand-in for `prover_certify` (lean_env/lean/ProverCertify.lean). Tests only.

    fake_certify.py REFERENCE.olean CANDIDATE.olean THEOREM NONCE

Reads the fake `.olean` files (the compiled text, from fake_lake.py) and answers as the real
checker does, one line of JSON; markers in the candidate decide the answer.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def main() -> int:
    reference, candidate, short, nonce = sys.argv[1:]
    text = json.loads(Path(candidate).read_text(encoding="utf-8"))["text"]
    assert "sorry" in json.loads(Path(reference).read_text(encoding="utf-8"))["text"]
    base = {"checker": "prover-certify/1", "lean": "4.15.0", "nonce": nonce, "theorem": short, "replayed": 3,
            "unsafe": ["f"] if "UNSAFE_DECL" in text else []}
    if "WRONG_NONCE" in text:
        base["nonce"] = "0" * 32
    if "KERNEL_REJECTS" in text:
        print(json.dumps({**base, "error": "(kernel) declaration type mismatch, t"}))
        return 1
    if "TWO_LINES" in text:
        print(json.dumps(base))
    axioms = ["propext", "Classical.choice", "Quot.sound"]
    if "CHEAT_AXIOM" in text:
        axioms.append("cheatAx")
    own = text[text.rfind(f" {short} "):]  # the theorem and what follows it: its proof
    if re.search(r"\bsorry\b", own):
        axioms.append("sorryAx")
    print(json.dumps({**base, "found": "NOT_FOUND" not in text, "is_theorem": True,
                      "same_type": "WRONG_TYPE" not in text, "same_levels": True, "axioms": axioms}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
