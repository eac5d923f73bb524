"""Loading a policy to train, and finding where an interrupted training run left off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lean_prover.prover.policy.base import ModelLoadError


def load_for_training(model_path: str) -> tuple[Any, Any, bool]:
    """The model (bf16 on a GPU, fp32 on a CPU), its tokenizer (with a pad token), and
    whether CUDA is used."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = torch.cuda.is_available()
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.bfloat16 if cuda else torch.float32)
    except (OSError, ValueError) as error:  # not on the hub, no network, not a causal LM
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(f"{model_path}: cannot load the model to train ({first_line})") from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, cuda


def last_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete `checkpoint-N` folder in `output_dir`, if any."""
    if not output_dir.is_dir():
        return None
    from transformers.trainer_utils import get_last_checkpoint

    found = get_last_checkpoint(str(output_dir))
    return Path(found) if found else None
