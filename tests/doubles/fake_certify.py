"""A stand-in for `prover_certify` (lean_env/lean/ProverCertify.lean). Tests only.

    fake_certify.py REFERENCE.olean|- CANDIDATE.olean THEOREM NONCE

Reads the fake `.olean` files (the module as fake_lake.py "compiled" it: its text, imports and
constants) and answers as the real checker does, one line of JSON. It follows the real checker
where Lean's behaviour matters: unsafe constants (Lean 4.15's `_cstage1`/`_cstage2` of every
computable definition) are listed and not replayed; a replay whose kernel shim keeps the
library's default heartbeat limit (the library's `Environment.replay` of v4.15, which calls
`env.addDecl {} d`) runs out of heartbeats on a heavy proof (HEAVY_KERNEL), one that passes 0 to
`addDeclCore` does not; types compare up to binder names. Markers in the candidate decide the rest.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def heartbeat_limited(workspace: Path) -> bool:
    """Whether the checker built in `workspace` replays under the default heartbeat limit."""
    shim = workspace / "ProverCertifyShim.lean"
    source = shim.read_text(encoding="utf-8") if shim.is_file() else (workspace / "ProverCertify.lean").read_text(
        encoding="utf-8") if (workspace / "ProverCertify.lean").is_file() else ""
    return "env.replay" in source and "addDeclCore 0" not in source and "toKernelEnv.replay" not in source


def compares_binder_names(workspace: Path) -> bool:
    """Whether the checker built in `workspace` compares types with `Expr.equal` (binder names
    too) rather than `==` (`Expr.eqv`)."""
    source = workspace / "ProverCertify.lean"
    return source.is_file() and "Expr.equal" in source.read_text(encoding="utf-8")


HYGIENIC = re.compile(r"→|->|[∀∃]\s*[^,:]+?\s*(?:>|<|≥|≤|≠|∈|∉|⊆)")


def main() -> int:
    reference_path, candidate_path, short, nonce = sys.argv[1:]
    candidate = json.loads(Path(candidate_path).read_text(encoding="utf-8"))
    reference = json.loads(Path(reference_path).read_text(encoding="utf-8")) if reference_path != "-" else None
    text = candidate["text"]
    if reference is not None:
        assert "sorry" in reference["text"]
    base = {"checker": "prover-certify/2", "lean": "4.15.0", "nonce": nonce, "theorem": short, "theorem_parts": [short],
            "imports_match": reference is None or reference["imports"] == candidate["imports"],
            "replayed": len(candidate["constants"]), "unsafe": candidate["unsafe"],
            "stand_in": "tests/doubles/fake_certify.py"}  # the real checker never writes this key
    if "WRONG_NONCE" in text:
        base["nonce"] = "0" * 32
    if "KERNEL_REJECTS" in text or ("HEAVY_KERNEL" in text and heartbeat_limited(Path.cwd())):
        reason = "(kernel) deterministic timeout" if "HEAVY_KERNEL" in text else "(kernel) declaration type mismatch, t"
        print(json.dumps({**base, "error": reason}))
        return 1
    if "TWO_LINES" in text:
        print(json.dumps(base))
    if not base["imports_match"]:
        print(json.dumps({**base, "found": False}))
        return 0
    theorem = candidate["constants"].get(short)
    if theorem is None or "NOT_FOUND" in text:
        print(json.dumps({**base, "found": False}))
        return 0
    axioms = [["propext"], ["Classical", "choice"], ["Quot", "sound"]]
    if "CHEAT_AXIOM" in text:
        axioms.append(["cheatAx"])
    own = text[text.rfind(f" {short} "):]  # the theorem and what follows it: its proof
    if re.search(r"\bsorry\b", own):
        axioms.append(["sorryAx"])
    report = {**base, "found": True, "is_theorem": theorem["kind"] in ("theorem", "lemma"), "axioms": axioms,
              "local_constants": [[name] for name in candidate["constants"]
                                  if name != short and name in theorem["mentions"]]}
    if reference is not None:
        expected = reference["constants"].get(short, {})
        # Binder names are hygienic (elabArrow's `a`, numbered by the module's macro-scope
        # counter): they differ between the modules when text stands before the statement in one.
        hygiene_differs = (HYGIENIC.search(theorem["signature"]) is not None
                           and candidate["text"].find(short) != reference["text"].find(short))
        report.update(has_reference=True, same_levels=True,
                      same_type=expected.get("signature") == theorem["signature"] and "WRONG_TYPE" not in text
                      and not (hygiene_differs and compares_binder_names(Path.cwd())))
    else:
        report["has_reference"] = False
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
