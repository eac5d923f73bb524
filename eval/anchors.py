"""Published results to print beside ours (`prover report`). Each row names its source.

Pass rates are those the authors report for the whole test split; budgets and settings vary
by row (see the source), so they are anchors for orientation, not like-for-like comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

V15_CARD = "DeepSeek-Prover-V1.5 model card, huggingface.co/deepseek-ai/DeepSeek-Prover-V1.5-RL (arXiv:2408.08152)"
V2_CARD = "DeepSeek-Prover-V2 model card, huggingface.co/deepseek-ai/DeepSeek-Prover-V2-671B (arXiv:2504.21801)"


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
)


def anchors_for(dataset: str, split: str | None) -> list[Anchor]:
    return [a for a in ANCHORS if a.dataset == dataset and (split is None or a.split in (split, None))]
