"""Published results to print beside ours (`prover report`). Each row names its source.

Pass rates are those the authors report for the whole test split; budgets and settings vary
by row (see the source), so they are anchors for orientation, not like-for-like comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

V15_CARD = "DeepSeek-Prover-V1.5 model card, huggingface.co/deepseek-ai/DeepSeek-Prover-V1.5-RL (arXiv:2408.08152)"
V2_CARD = "DeepSeek-Prover-V2 model card, huggingface.co/deepseek-ai/DeepSeek-Prover-V2-671B (arXiv:2504.21801)"

GOEDEL_V2 = "Goedel-Prover-V2 paper (Lin et al., 2025), abstract; blog.goedel-prover.com"


@dataclass(frozen=True)
class Anchor:
    system: str
    dataset: str
    split: str | None
    """None where the source does not say which split (the V1.5 card's ProofNet column)."""
    pass_rate: float
    setting: str
    source: str


ANCHORS: tuple[Anchor, ...] = (
    Anchor("DeepSeek-Prover-V1.5-Base", "minif2f", "test", 0.422, "best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V1.5-SFT", "minif2f", "test", 0.574, "best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V1.5-RL", "minif2f", "test", 0.602, "whole-proof sampling, best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V1.5-RL + RMaxTS", "minif2f", "test", 0.635, "tree search, best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V1.5-Base", "proofnet", None, 0.132, "best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V1.5-SFT", "proofnet", None, 0.229, "best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V1.5-RL", "proofnet", None, 0.226, "whole-proof sampling, best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V1.5-RL + RMaxTS", "proofnet", None, 0.253, "tree search, best reported", V15_CARD),
    Anchor("DeepSeek-Prover-V2-671B", "minif2f", "test", 0.889, "pass@8192", V2_CARD),
    # PutnamBench grows each year: these counts are over the versions of their time (658 and 657
    # problems), not the 672 of 3c9b926, and the answers were those of the provers' own runs.
    Anchor("DeepSeek-Prover-V2-671B", "putnambench", None, 49 / 658, "49 of 658 problems", V2_CARD),
    Anchor("Goedel-Prover-V2-32B", "putnambench", None, 86 / 657, "86 of 657 problems, pass@184",
           GOEDEL_V2),
)


def anchors_for(dataset: str, split: str | None) -> list[Anchor]:
    return [a for a in ANCHORS if a.dataset == dataset and (split is None or a.split in (split, None))]


def known_dataset(name: str) -> str:
    """The benchmark a run's dataset is, also when it was given as a file path
    (`../data/minif2f.jsonl`, `minif2f-test.jsonl`): the name itself otherwise."""
    stem = PurePath(name).name.lower()
    for suffix in (".jsonl", ".json", ".lean"):
        stem = stem.removesuffix(suffix)
    for dataset in sorted({a.dataset for a in ANCHORS}):
        if stem == dataset or any(stem.startswith(dataset + separator) for separator in "-_."):
            return dataset
    return name
