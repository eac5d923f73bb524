"""Tokens per second of the `hf` backend against a bare `model.generate`, side by side.

    .venv/bin/python benchmarks/hf_throughput.py [--tokens 64] [--repeats 3]

For 1, 8 and 32 samples of one miniF2F-style prompt, both run with the same seed (so they
generate the same tokens) on the same loaded model; the backend's extra work is tokenizing,
batching, stop handling and decoding. The goal is a ratio of at least 0.95. Uses the offline
SmolLM2 (converted into the usual model cache on first use).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from prover.policy.base import GenerationRequest  # noqa: E402
from prover.policy.config import PolicyConfig  # noqa: E402
from prover.policy.hf_backend import HFPolicy  # noqa: E402

PROMPT = (
    "Complete the following Lean 4 code:\n\n```lean4\nimport Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\n"
    "open BigOperators Real Nat Topology Rat\n\ntheorem mathd_algebra_10 : abs ((120 : ℝ) / 100 * 30 - 130 / 100 * 20)"
    " = 10 := by\n"
)
SEED = 1234


def bare(policy: HFPolicy, samples: int, tokens: int) -> tuple[float, int]:
    encoded = policy.tokenizer([PROMPT], return_tensors="pt").to(policy.device)
    torch.manual_seed(SEED)
    started = time.perf_counter()
    with torch.no_grad():
        output = policy.model.generate(
            **encoded, do_sample=True, temperature=1.0, top_p=0.95, max_new_tokens=tokens,
            num_return_sequences=samples, pad_token_id=policy.tokenizer.pad_token_id,
        )
    elapsed = time.perf_counter() - started
    generated = output[:, encoded["input_ids"].shape[1]:]
    eos = policy.tokenizer.eos_token_id
    count = sum(row.index(eos) + 1 if eos in row else len(row) for row in generated.tolist())
    return elapsed, count


def ours(policy: HFPolicy, samples: int, tokens: int) -> tuple[float, int]:
    request = GenerationRequest(PROMPT, n=samples, temperature=1.0, top_p=0.95, max_new_tokens=tokens, seed=SEED)
    started = time.perf_counter()
    (completions,) = asyncio.run(policy.generate([request]))
    return time.perf_counter() - started, sum(c.token_count for c in completions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    policy = HFPolicy(PolicyConfig(model="smollm2", max_batch=32))
    print(f"SmolLM2-135M on {policy.device}, {torch.get_num_threads()} threads, {args.tokens} new tokens a sample")
    print(f"{'samples':>8} {'bare tok/s':>11} {'hf tok/s':>10} {'ratio':>6}")
    for samples in (1, 8, 32):
        bare(policy, samples, 4)  # warm-up
        bare_runs, our_runs = [], []
        for _ in range(args.repeats):  # interleaved, so that neither side always runs first
            bare_runs.append(bare(policy, samples, args.tokens))
            our_runs.append(ours(policy, samples, args.tokens))
        bare_rate = statistics.median(count / elapsed for elapsed, count in bare_runs)
        our_rate = statistics.median(count / elapsed for elapsed, count in our_runs)
        assert [c for _, c in bare_runs] == [c for _, c in our_runs], "different tokens: not the same work"
        print(f"{samples:>8} {bare_rate:>11.1f} {our_rate:>10.1f} {our_rate / bare_rate:>6.2f}")
    asyncio.run(policy.close())


if __name__ == "__main__":
    main()
