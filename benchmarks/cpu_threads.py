"""Why `policy.threads` leaves Lean its cores: generation beside one busy process, side by side.

    .venv/bin/python benchmarks/cpu_threads.py [--tokens 32] [--batch 8]

Times the same SmolLM2 generation (batch 8, 32 tokens) alone with torch's default threads,
then with one CPU-bound process running beside it (a stand-in for a Lean REPL at work), with
the default threads and with one thread fewer. On a 2-core machine the second line is several
times the first: torch's kernels wait for their slowest thread, whose core the other process took.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lean_prover.prover.policy.config import PolicyConfig, usable_cpus  # noqa: E402
from lean_prover.prover.policy.hf_backend import HFPolicy  # noqa: E402


def timed(policy: HFPolicy, batch: int, tokens: int) -> float:
    encoded = policy.tokenizer(["theorem foo : 1 + 1 = 2 := by\n"] * batch, return_tensors="pt")
    started = time.perf_counter()
    with torch.no_grad():
        policy.model.generate(**encoded, do_sample=True, max_new_tokens=tokens, min_new_tokens=tokens,
                              pad_token_id=policy.tokenizer.pad_token_id)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    policy = HFPolicy(PolicyConfig())
    cores = usable_cpus()
    timed(policy, 1, 4)  # warm up
    print(f"{cores} cores, batch {args.batch}, {args.tokens} tokens")
    print(f"alone, {torch.get_num_threads()} threads:              {timed(policy, args.batch, args.tokens):6.1f} s")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        print(f"one busy process beside, {torch.get_num_threads()} threads: {timed(policy, args.batch, args.tokens):6.1f} s")
        torch.set_num_threads(max(1, cores - 1))
        print(f"one busy process beside, {torch.get_num_threads()} threads: {timed(policy, args.batch, args.tokens):6.1f} s")
    finally:
        busy.kill()


if __name__ == "__main__":
    main()
