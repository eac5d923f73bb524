"""Tokens per second of a real `eval` search against bare batched generation, side by side.

    .venv/bin/python benchmarks/search_throughput.py [--model smollm2] [--backend hf]
        [--concurrency 1,8,32,64] [--tokens 32] [--rounds 2] [--repeats 1] [--algorithm sample]

At each concurrency C, on one loaded model, for the same miniF2F problems (`--rounds` of
them, more at small C so that each level draws `--min-samples`):
- backend: the hf backend alone, the C samples of each problem requested at once, with the
  seeds the search will use (so the search draws the very same samples: the table says
  whether their tokens agree);
- bare: `model.generate` on a batch of C copies of each problem's prompt (transformers' own
  sampling, temperature 1, top-p 0.95) run for as many tokens as that batch's longest
  sample took in the backend: the same work, done the plain way, credited with the
  backend's tokens;
- search: the loop of `prover eval` (`run_locally`: searches, checks, rows written to a run
  directory) with `search.concurrency = C` and C samples a problem, its proofs checked by
  the REPL double (tests/doubles/fake_repl.py: real processes, real protocol, instant
  answers; started before the clock), so that what is measured is how full the search keeps
  the policy's batches.
Rates are generated tokens (up to each sample's end) over wall time (with `--repeats N`, the
best of N, the paths taken in turn and in reverse order every other time: on a shared
machine single timings drift by tens of percent). search / bare is the
share of the model's batched throughput that a search gets (goal: at least 0.9 at every
concurrency; above 1 is possible, as the backend's sampler does not sort the vocabulary as
transformers' top-p does); search / backend is what the search itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lean_prover.data.config import DataConfig  # noqa: E402
from lean_prover.data.datasets import load_problems  # noqa: E402
from lean_prover.eval.benchmark_run import Recorder, pending_jobs, run_locally  # noqa: E402
from lean_prover.eval.run_dir import RunDirectory  # noqa: E402
from lean_prover.eval.spec import RunSpec  # noqa: E402
from lean_prover.lean_env.guard import GuardPolicy  # noqa: E402
from lean_prover.lean_env.pool import ReplPool  # noqa: E402
from lean_prover.lean_env.repl import ReplSettings  # noqa: E402
from lean_prover.lean_env.repl_checker import ReplChecker  # noqa: E402
from lean_prover.lean_env.workspace import Pins  # noqa: E402
from lean_prover.prover.agent import Prover  # noqa: E402
from lean_prover.prover.extraction import FENCE  # noqa: E402
from lean_prover.prover.policy.base import GenerationRequest  # noqa: E402
from lean_prover.prover.policy.config import PolicyConfig  # noqa: E402
from lean_prover.prover.policy.hf_backend import HFPolicy  # noqa: E402
from lean_prover.search.budget import Budget  # noqa: E402
from lean_prover.search.config import SearchConfig  # noqa: E402

FAKE_REPL = ROOT / "tests" / "doubles" / "fake_repl.py"


def bare(policy: HFPolicy, prompts: list[str], batch: int, steps: list[int]) -> float:
    """Seconds of plain `model.generate` (transformers' own sampling, temperature 1, top-p
    0.95) on a batch of `batch` copies of each prompt, run for `steps[i]` tokens: the work of
    the backend's batch for that prompt, whose longest sample took that many."""
    started = time.perf_counter()
    for round_, (prompt, length) in enumerate(zip(prompts, steps)):
        encoded = policy.tokenizer([prompt] * batch, return_tensors="pt").to(policy.device)
        torch.manual_seed(round_)
        with torch.no_grad():
            policy.model.generate(**encoded, do_sample=True, temperature=1.0, top_p=0.95, max_new_tokens=length,
                                  min_new_tokens=length, pad_token_id=policy.tokenizer.pad_token_id)
    return time.perf_counter() - started


async def backend(prover: Prover, problems: list, stop: tuple[str, ...], batch: int, tokens: int
                  ) -> tuple[int, float, list[int]]:
    """Generated tokens and seconds of the backend alone, `batch` requests at once, one call per
    problem, with the seeds the search gives its samples (so both draw the very same samples);
    and the longest sample of each call."""
    policy = prover.policy
    before = policy.usage.generated_tokens
    longest = []
    started = time.perf_counter()
    for problem in problems:
        prompt = prover.prompt(problem)
        answers = await policy.generate([
            GenerationRequest(prompt, max_new_tokens=tokens, stop=stop, seed=prover.seed_for(problem, i + 1))
            for i in range(batch)  # a search numbers its samples from 1
        ])
        longest.append(max(c.token_count for (c,) in answers))
    return policy.usage.generated_tokens - before, time.perf_counter() - started, longest


async def search(prover: Prover, selected: list, concurrency: int, algorithm: str) -> tuple[int, float]:
    """Generated tokens and seconds of the `eval` loop (`run_locally`: searches, checks, rows
    written to a run directory) drawing `concurrency` samples of each problem, on a prover
    whose policy and REPL pool are already started."""
    spec = RunSpec("minif2f", "test", Budget(concurrency),
                   SearchConfig(algorithm=algorithm, concurrency=concurrency, stop_at_first=False), prover.config)
    usage = prover.policy.usage
    before = usage.generated_tokens
    with tempfile.TemporaryDirectory() as folder:
        run_dir = RunDirectory.start(Path(folder) / "run", spec, [p.id for p in selected], {}, None)
        recorder = Recorder(run_dir, None)
        started = time.perf_counter()
        await run_locally(pending_jobs(spec, selected, run_dir), prover, spec, recorder, problems_in_flight=1)
        seconds = time.perf_counter() - started
        run_dir.close()
    return usage.generated_tokens - before, seconds


async def measure(args: argparse.Namespace) -> None:
    levels = [int(part) for part in args.concurrency.split(",")]
    config = PolicyConfig(model=args.model, max_new_tokens=args.tokens, device=args.device, dtype=args.dtype,
                          prompt_format="non-cot-state" if args.algorithm == "rmaxts" else "non-cot")
    policy = HFPolicy(config)
    problems = load_problems("minif2f", DataConfig(data_dir=args.data_dir, download=False), split="test")
    settings = ReplSettings(command=(sys.executable, str(FAKE_REPL), "scripted"), timeout_s=30.0, header_timeout_s=30.0)
    prover = Prover(policy, config, ReplChecker(ReplPool(settings, 2), Pins.unknown(), GuardPolicy()))
    stop = (FENCE,)  # completion formats end at the closing fence
    device = torch.cuda.get_device_name() if policy.device == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"model {args.model} on {device} ({args.dtype}); {args.tokens} new tokens a sample; algorithm {args.algorithm}")
    print(f"{'concurrency':>11} {'bare tok/s':>11} {'backend tok/s':>14} {'search tok/s':>13} "
          f"{'search/bare':>12} {'search/backend':>15}  tokens (search = backend?)")
    bare(policy, [policy.render(prover.prompt(problems[-1]))], 1, [4])  # warm up the model, then the REPL pool
    await search(prover, problems[-1:], 1, args.algorithm)
    try:
        for level in levels:
            # The same problems for all three, one batch each, at least 8 samples in all.
            selected = problems[: max(args.rounds, -(-args.min_samples // level))]
            prompts = [policy.render(prover.prompt(problem)) for problem in selected]
            # An untimed pass first: the first batches of a shape run slow (memory being mapped,
            # CUDA kernels being chosen), which would favour whichever path runs last. It also gives
            # bare the length of each batch's longest sample.
            backend_tokens, _, longest = await backend(prover, selected, stop, level, args.tokens)
            search_tokens = 0
            backend_times: list[float] = []
            bare_times: list[float] = []
            search_times: list[float] = []
            for repeat in range(args.repeats):  # best of N, each path in turn, the order reversed every other time
                paths = ["backend", "bare", "search"][:: 1 if repeat % 2 == 0 else -1]
                for path in paths:
                    if path == "backend":
                        backend_tokens, seconds, longest = await backend(prover, selected, stop, level, args.tokens)
                        backend_times.append(seconds)
                    elif path == "bare":
                        bare_times.append(bare(policy, prompts, level, longest))
                    else:
                        search_tokens, seconds = await search(prover, selected, level, args.algorithm)
                        search_times.append(seconds)
            backend_s, bare_s, search_s = min(backend_times), min(bare_times), min(search_times)
            bare_rate, backend_rate = backend_tokens / bare_s, backend_tokens / backend_s
            search_rate = search_tokens / search_s
            print(f"{level:>11} {bare_rate:>11.1f} {backend_rate:>14.1f} {search_rate:>13.1f} "
                  f"{search_rate / bare_rate:>12.2f} {search_rate / backend_rate:>15.2f}  "
                  f"{search_tokens} {'=' if search_tokens == backend_tokens else '!='} {backend_tokens}", flush=True)
    finally:
        await prover.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2", help="A local folder, a .gguf file, a hub id, or smollm2.")
    parser.add_argument("--backend", default="hf", choices=["hf"], help="Bare generation is transformers' own.")
    parser.add_argument("--concurrency", default="1,8,32,64", help="Comma-separated values of search.concurrency.")
    parser.add_argument("--tokens", type=int, default=32, help="max_new_tokens of every sample.")
    parser.add_argument("--rounds", type=int, default=2, help="Batches (problems) per concurrency, at least.")
    parser.add_argument("--min-samples", type=int, default=8, help="Samples per concurrency, at least.")
    parser.add_argument("--repeats", type=int, default=1, help="Measure each path this many times; report the best.")
    parser.add_argument("--algorithm", default="sample", choices=["sample", "rmaxts"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
