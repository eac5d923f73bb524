"""The search named in the config, and what callers may rely on of each (so that no caller
outside this module asks for an algorithm by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from lean_prover.data.problem import Problem
from lean_prover.prover.prompts import get_format

from lean_prover.search.base import SearchAlgorithm
from lean_prover.search.best_first import BestFirstSearch
from lean_prover.search.budget import EarlierSamples
from lean_prover.search.config import ALGORITHMS, SearchConfig
from lean_prover.search.decomposition import SubgoalDecomposition
from lean_prover.search.hybrid import HybridSearch
from lean_prover.search.errors import SearchError
from lean_prover.search.rmaxts import RMaxTS, load_checkpoint
from lean_prover.search.sampling import WholeProofSampling
from lean_prover.search.self_correction import SelfCorrection


class UnknownAlgorithmError(SearchError, ValueError):
    pass


RESUMES_FROM_CHECKPOINT = frozenset({"rmaxts"})
"""Searches that save their state to a checkpoint file and continue from it (drawing exactly
the sample indices it does not record as finished)."""
INDEPENDENT_SAMPLES = frozenset({"sample"})
"""Searches whose samples are independent draws: with search.stop_at_first off, every sample
of the budget is drawn, and pass@k over them is unbiased. Their recorded attempts are all an
interrupted search needs to resume (`EarlierSamples`).

The other searches restart an interrupted problem: self-correction's revisions need each
failure's full Lean messages, best-first search its frontier of goals, decomposition and the
hybrid search the lemmas of their sketches, none of which a checkpoint keeps."""


FINDS_ANSWERS = frozenset({"sample", "self-correct"})
"""Searches that draw whole candidates, so that a chat answer's answer term comes with each
proof. Tree and step searches grow one proof of a fixed statement: they cannot choose an
answer along the way."""


class AnswersUnsupportedError(SearchError, ValueError):
    pass


def require_answer_support(problems: Iterable[Problem], algorithm: str, prompt_format: str) -> None:
    """Refuse, before any work, problems that ask for an answer where the setup cannot give one."""
    asking = [p.id for p in problems if p.answer_to_find is not None]
    if not asking:
        return
    example = f"{asking[0]}" + (f" and {len(asking) - 1} more" if len(asking) > 1 else "")
    if algorithm not in FINDS_ANSWERS:
        raise AnswersUnsupportedError(
            f"{example} ask for an answer, which --algorithm {algorithm} cannot give; use "
            f"{' or '.join(sorted(FINDS_ANSWERS))}, or fill in the official answers (data.answers = \"given\")")
    if get_format(prompt_format).kind != "chat":
        raise AnswersUnsupportedError(
            f"{example} ask for an answer, and the completion format {prompt_format} only continues a proof; use a "
            "chat format (deepseek-v2, deepseek-v2-cot, chat), or fill in the official answers (data.answers = \"given\")")


def resumes_from_checkpoint(algorithm: str) -> bool:
    return algorithm in RESUMES_FROM_CHECKPOINT


def samples_in_checkpoint(algorithm: str, checkpoint: Path) -> int:
    """The samples a search that resumes from `checkpoint` has already spent there (0 when
    the algorithm does not resume, or nothing is saved). Raises CheckpointError."""
    if not resumes_from_checkpoint(algorithm) or not checkpoint.is_file():
        return 0
    return load_checkpoint(checkpoint).spending.samples


def draws_independent_samples(algorithm: str) -> bool:
    return algorithm in INDEPENDENT_SAMPLES


def build_search(config: SearchConfig, checkpoint: Path | None = None, earlier: EarlierSamples | None = None) -> SearchAlgorithm:
    """A search for one problem. One that resumes from a checkpoint saves its state to (and
    continues from) `checkpoint`; hybrid saves its tree there; the others ignore it. One of
    independent samples goes on after the `earlier` samples; the others ignore them."""
    if config.algorithm == "rmaxts":
        return RMaxTS(config, checkpoint)
    if config.algorithm == "sample":
        return WholeProofSampling(config, earlier)
    if config.algorithm == "self-correct":
        return SelfCorrection(config)
    if config.algorithm == "decompose":
        if config.subgoal_algorithm not in ALGORITHMS or config.subgoal_algorithm == "decompose":
            choices = ", ".join(a for a in ALGORITHMS if a != "decompose")
            raise UnknownAlgorithmError(f"search.subgoal_algorithm must be one of {choices}")
        return SubgoalDecomposition(config, build_search)
    if config.algorithm == "bfs":
        return BestFirstSearch(config)
    if config.algorithm == "hybrid":
        return HybridSearch(config, checkpoint)
    raise UnknownAlgorithmError(f"unknown search algorithm {config.algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
