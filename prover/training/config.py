"""Settings of `prover train rl` and `prover train sft`.

The RL defaults are DeepSeek-Prover-V1.5's published recipe (paper, section 3.3): a binary
reward from Lean, 32 samples per theorem, KL coefficient 0.02, learning rate 5e-6, maximum
length 2048, and each theorem prompted both with and without chain-of-thought. What the
paper does not state (prompts per step, steps) are our choices, marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lean_prover.prover.errors import ProverError
from lean_prover.prover.prompts import FORMATS


class TrainingConfigError(ProverError, ValueError):
    """Settings that cannot train (a group that does not divide into micro-batches, ...)."""


@dataclass
class RLConfig:
    model: str = field(
        default="deepseek-ai/DeepSeek-Prover-V1.5-SFT",
        metadata={"help": "The policy to train: hub id, folder, or `smollm2` (V1.5 starts RL from its SFT model)."},
    )
    dataset: str = field(default="minif2f", metadata={"help": "Training problems: a dataset name or a .jsonl file."})
    split: str = field(default="valid", metadata={"help": "Split of the dataset (empty: all)."})
    prompt_formats: str = field(
        default="non-cot,cot", metadata={"help": "Prompt formats, comma-separated: each problem once per format (V1.5: both)."}
    )
    group_size: int = field(default=32, metadata={"help": "Completions per prompt, the GRPO group (V1.5: 32)."})
    prompts_per_step: int = field(default=16, metadata={"help": "Prompts per optimizer step (our choice; V1.5 does not say)."})
    micro_batch_size: int = field(default=8, metadata={"help": "Completions per forward/backward pass (memory, not maths)."})
    kl_coef: float = field(default=0.02, metadata={"help": "KL coefficient against the reference policy (V1.5: 0.02)."})
    learning_rate: float = field(default=5e-6, metadata={"help": "Learning rate (V1.5: 5e-6)."})
    max_completion_length: int = field(default=2048, metadata={"help": "Maximum tokens per completion (V1.5: 2048)."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature of the completions."})
    max_steps: int = field(default=500, metadata={"help": "Optimizer steps (our choice)."})
    save_steps: int = field(default=50, metadata={"help": "Save a checkpoint every this many steps (a rerun resumes from the last)."})
    output_dir: Path = field(default=Path("runs/rl"), metadata={"help": "Checkpoints, and the final model in final/."})
    seed: int = field(default=0, metadata={"help": "Seed of data order and sampling."})
    use_vllm: bool = field(default=False, metadata={"help": "Generate with vLLM (GPU) instead of transformers."})
    shaping_incomplete: float = field(
        default=0.0, metadata={"help": "Reward shaping: a proof Lean accepts only with `sorry` (V1.5: 0, binary)."}
    )
    shaping_lean_errors: float = field(default=0.0, metadata={"help": "Reward shaping: a proof Lean rejects (V1.5: 0)."})
    consistency: bool = field(
        default=False,
        metadata={"help": "V2's consistency reward: a proof must keep every `have` of the sketch the completion wrote first."},
    )
    certified_rewards: bool = field(
        default=False,
        metadata={
            "help": "Reward only proofs the certified tier accepts (kernel replay: a Mathlib compile per "
            "proof the fast tier accepts, checked in parallel): closes to the policy any route through the fast tier."
        },
    )
    store_proofs: bool = field(default=True, metadata={"help": "Add every proof found during training to the proof store."})
    verifier_url: str = field(
        default="",
        metadata={"help": "A `prover serve` to ask for the rewards (e.g. http://lean-box:8000), instead of Lean here; "
                          "its API key from $LEAN_SERVER_API_KEY."},
    )

    def formats(self) -> list[str]:
        return [name.strip() for name in self.prompt_formats.split(",") if name.strip()]

    def validate(self) -> None:
        unknown = [name for name in self.formats() if name not in FORMATS]
        if unknown or not self.formats():
            raise TrainingConfigError(f"rl.prompt_formats {self.prompt_formats!r}: choose from {', '.join(FORMATS)}")
        for name in ("group_size", "prompts_per_step", "micro_batch_size", "max_steps", "save_steps", "max_completion_length"):
            if getattr(self, name) < 1:
                raise TrainingConfigError(f"rl.{name} = {getattr(self, name)}: must be at least 1")
        if self.group_size < 2:
            raise TrainingConfigError("rl.group_size must be at least 2: GRPO compares completions within a group")
        if self.verifier_url and not self.verifier_url.startswith(("http://", "https://")):
            raise TrainingConfigError(f"rl.verifier_url = {self.verifier_url!r}: give an http:// or https:// URL")
        if (self.group_size * self.prompts_per_step) % self.micro_batch_size:
            raise TrainingConfigError(
                f"rl.micro_batch_size = {self.micro_batch_size} must divide group_size x prompts_per_step "
                f"= {self.group_size * self.prompts_per_step}"
            )


@dataclass
class SFTConfig:
    model: str = field(default="deepseek-ai/DeepSeek-Prover-V1.5-Base", metadata={"help": "The model to fine-tune."})
    prompt_format: str = field(default="non-cot", metadata={"help": "The prompt each stored proof is trained after."})
    from_model: str = field(default="", metadata={"help": "Only proofs found by this model (empty: all in the store)."})
    held_out: float = field(default=0.05, metadata={"help": "Share of statements kept out of training, for the eval loss."})
    learning_rate: float = field(default=1e-5, metadata={"help": "Learning rate."})
    epochs: float = field(default=1.0, metadata={"help": "Passes over the proofs."})
    max_steps: int = field(default=-1, metadata={"help": "Stop after this many steps (-1: run the epochs)."})
    batch_size: int = field(default=8, metadata={"help": "Proofs per optimizer step."})
    micro_batch_size: int = field(default=8, metadata={"help": "Proofs per forward/backward pass."})
    max_length: int = field(default=2048, metadata={"help": "Tokens of prompt and proof; longer ones are cut."})
    save_steps: int = field(default=200, metadata={"help": "Save a checkpoint every this many steps (a rerun resumes)."})
    output_dir: Path = field(default=Path("runs/sft"), metadata={"help": "Checkpoints, and the final model in final/."})
    seed: int = field(default=0, metadata={"help": "Seed of data order."})
    tactic_data: Path | None = field(
        default=None,
        metadata={"help": "A LeanDojo Benchmark 4 folder: train on its traced (state, tactic) steps, prompted as "
                          "best-first search prompts, instead of the store's proofs (statements: data.source_repo)."},
    )

    def validate(self) -> None:
        if self.prompt_format not in FORMATS:
            raise TrainingConfigError(f"sft.prompt_format {self.prompt_format!r}: choose from {', '.join(FORMATS)}")
        if self.tactic_data is not None and FORMATS[self.prompt_format].kind != "completion":
            raise TrainingConfigError(f"sft.tactic_data trains the one-tactic prompts of best-first search, which a "
                                      f"completion format writes; sft.prompt_format {self.prompt_format!r} is a chat format")
        if not 0.0 <= self.held_out < 1.0:
            raise TrainingConfigError(f"sft.held_out = {self.held_out}: must be in [0, 1)")
        if self.batch_size < 1 or self.micro_batch_size < 1 or self.batch_size % self.micro_batch_size:
            raise TrainingConfigError("sft.micro_batch_size must be at least 1 and divide sft.batch_size")
