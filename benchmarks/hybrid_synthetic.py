"""Hybrid search against each of its parts alone, at equal budget, on a synthetic problem family.

    .venv/bin/python benchmarks/hybrid_synthetic.py [--per-family 20] [--budgets 16,32,64]

The family (tests/doubles/synthetic_world.py) has three kinds of problem, each needing one
idea: `deep` (five steps, each right with probability 0.4: resuming from the tree's nodes
pays), `typo` (a first attempt misspells the lemma 99 times in 100; a revision shown Lean's
error fixes it 9 times in 10), `split` (a three-part conjunction: a one-line proof has each
part right with probability 0.2; a sketch splits it into three lemmas, each proved with
probability 0.2 a sample). A scripted policy and a toy Lean play the model and the REPL; the
searches, prompts, extraction, guard, segmentation and budget are the real ones. Each cell is
the number of problems proved within the budget (samples a problem, lemmas' samples included).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_prover.data.problem import Problem  # noqa: E402
from lean_prover.prover.agent import Prover  # noqa: E402
from lean_prover.prover.policy.config import PolicyConfig  # noqa: E402
from lean_prover.search.budget import Budget  # noqa: E402
from lean_prover.search.config import SearchConfig  # noqa: E402
from lean_prover.search.registry import build_search  # noqa: E402
from tests.doubles.synthetic_world import FAMILIES, Odds, SyntheticPolicy, ToyLean, problems  # noqa: E402

ALGORITHMS = ("sample", "rmaxts", "self-correct", "decompose", "hybrid")
ODDS = Odds(step=0.4, typo=0.99, fix=0.9, part=0.2, one_line=0.2)
SETTINGS = dict(concurrency=4, subgoal_samples=8, decompose_depth=1, revision_rounds=2)


async def proved(algorithm: str, problem: Problem, samples: int) -> bool:
    prover = Prover(SyntheticPolicy(ODDS), PolicyConfig(prompt_format="non-cot"), ToyLean())
    search = build_search(SearchConfig(algorithm=algorithm, **SETTINGS))  # type: ignore[arg-type]
    async for attempt in search.run(problem, prover, Budget(samples)):
        if attempt.proved:
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-family", type=int, default=20)
    parser.add_argument("--budgets", default="16,32,64")
    args = parser.parse_args()
    family = problems(args.per_family)
    print(f"{len(family)} problems ({args.per_family} of each of {', '.join(FAMILIES)}); cells: problems proved")
    header = f"{'budget':>6}  {'algorithm':<13}" + "".join(f"{name:>7}" for name in FAMILIES) + f"{'total':>7}"
    print(header)
    print("-" * len(header))
    for samples in (int(b) for b in args.budgets.split(",")):
        for algorithm in ALGORITHMS:
            solved: Counter[str] = Counter()
            for problem in family:
                solved[problem.name.split("_")[0]] += asyncio.run(proved(algorithm, problem, samples))
            cells = "".join(f"{solved[name]:>7}" for name in FAMILIES)
            print(f"{samples:>6}  {algorithm:<13}{cells}{sum(solved.values()):>7}")
        print()


if __name__ == "__main__":
    main()
