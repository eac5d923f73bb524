"""How reading a `.lean` file scales with its theorems: time and peak memory, side by side.

    .venv/bin/python benchmarks/lean_reader.py [--sizes 1000,2000,4000,8000]

For each size, a file of that many `sorry` theorems (each with a doc comment, a definition
every tenth) is
1. read: `LeanFile.parse`, the cut into theorems every command starts with, and
2. walked: each sorry theorem's `Problem` made and hashed one after another, as `prover prove`
   and `prover data stats` do (each problem's context is all the text before it, so this
   step hashes a quadratic amount of text by nature; its memory must stay linear).
Printed per size: seconds and peak MiB (tracemalloc) of each, and per 1,000 theorems. The
last line gives the ratio of the largest size's cost per theorem to the smallest's: about 1
for a linear reader (the quadratic one this replaced read 8,000 theorems in 105 s and 3.7 GB).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lean_prover.data.lean_file import LeanFile  # noqa: E402


def lean_text(theorems: int) -> str:
    parts = ["import Mathlib\nopen Nat\n\n"]
    for index in range(theorems):
        if index % 10 == 0:
            parts.append(f"def f{index} (n : ℕ) : ℕ := n + {index}\n\n")
        parts.append(f"/-- The {index}th statement. -/\ntheorem t{index} (x : ℕ) (h : x = {index}) :\n"
                     f"    x + {index} = {index} + x := by\n  sorry\n\n")
    return "".join(parts)


def measured(step: Callable[[], object]) -> tuple[float, float]:
    """Seconds of one call, and peak MiB of another under tracemalloc (which slows it)."""
    started = time.perf_counter()
    step()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 2**20


def walk(file: LeanFile) -> int:
    hashed = 0
    for theorem in file.sorry_theorems():
        hashed += len(theorem.problem.statement_sha256)
    return hashed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,4000,8000", help="theorem counts, comma-separated")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    print(f"{'theorems':>9} {'KiB':>7} {'read s':>8} {'read MiB':>9} {'walk s':>8} {'walk MiB':>9}"
          f" {'read s/1k':>10} {'read MiB/1k':>12} {'walk MiB/1k':>12}")
    per_theorem = []
    for size in sizes:
        text = lean_text(size)
        read_s, read_mib = measured(lambda: LeanFile.parse(text, "bench.lean"))
        file = LeanFile.parse(text, "bench.lean")
        walk_s, walk_mib = measured(lambda: walk(file))
        per_theorem.append((read_s / size, read_mib / size, walk_mib / size))
        print(f"{size:>9} {len(text.encode()) / 1024:>7.0f} {read_s:>8.2f} {read_mib:>9.1f} {walk_s:>8.2f} "
              f"{walk_mib:>9.1f} {1000 * read_s / size:>10.3f} {1000 * read_mib / size:>12.2f} "
              f"{1000 * walk_mib / size:>12.2f}")
    (first_s, first_mib, first_walk), (last_s, last_mib, last_walk) = per_theorem[0], per_theorem[-1]
    print(f"cost per theorem, {sizes[-1]} vs {sizes[0]} theorems: read time x{last_s / first_s:.2f}, "
          f"read memory x{last_mib / first_mib:.2f}, walk memory x{last_walk / first_walk:.2f} (1 = linear)")


if __name__ == "__main__":
    main()
