"""RLPAF: GRPO on Lean's verdicts, with TRL's GRPOTrainer (DeepSeek-Prover-V1.5, section 3).

Each training problem appears once per prompt format (V1.5: with and without chain of
thought); each prompt is sampled `group_size` times; `LeanReward` checks every completion on
the REPL pool; TRL turns rewards into group-normalized advantages and a KL-regularized update.
Checkpoints go to `output_dir/checkpoint-N`; a rerun resumes from the last one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofStore
from lean_prover.lean_env.blocking import BlockingChecker
from lean_prover.lean_env.checker import Checker
from lean_prover.prover.policy.base import Prompt
from lean_prover.prover.prompts import build_prompt
from lean_prover.prover.training.config import RLConfig, TrainingConfigError
from lean_prover.prover.training.reward import LeanReward
from lean_prover.prover.training.models import load_for_training, last_checkpoint

logger = logging.getLogger(__name__)

FINAL = "final"


@dataclass(frozen=True)
class RLResult:
    model_dir: Path
    """The trained policy (weights and tokenizer), loadable as `policy.model`."""
    steps: int
    completions_checked: int
    """By this run (a resumed run counts from where it resumed)."""
    proofs_found: int
    log_history: list[dict[str, Any]]
    """The trainer's log, one entry per step (reward, KL, loss, ...)."""


def as_trl_prompt(prompt: Prompt) -> str | list[dict[str, str]]:
    """TRL takes a plain prompt as a string and a chat prompt as a list of messages."""
    if isinstance(prompt, str):
        return prompt
    return [{"role": message.role, "content": message.content} for message in prompt]


def rl_rows(problems: list[Problem], config: RLConfig) -> list[dict[str, Any]]:
    """One row per problem and prompt format; the reward finds the problem by `problem_id`."""
    return [
        {"prompt": as_trl_prompt(build_prompt(problem, fmt)), "problem_id": problem.id, "prompt_format": fmt}
        for problem in problems
        for fmt in config.formats()
    ]


def grpo_arguments(config: RLConfig, cuda: bool) -> Any:
    from trl import GRPOConfig

    completions_per_step = config.group_size * config.prompts_per_step
    return GRPOConfig(
        output_dir=str(config.output_dir),
        num_generations=config.group_size,
        per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=completions_per_step // config.micro_batch_size,
        beta=config.kl_coef,
        loss_type="grpo",  # DeepSeekMath's GRPO objective, as V1.5 trains
        learning_rate=config.learning_rate,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        max_steps=config.max_steps,
        save_steps=config.save_steps,
        seed=config.seed,
        use_vllm=config.use_vllm,
        use_cpu=not cuda,
        bf16=cuda,
        logging_steps=1,
        report_to="none",
    )


def train_rl(
    config: RLConfig,
    problems: list[Problem],
    verifier: Checker,
    model_path: str,
    store: ProofStore | None = None,
) -> RLResult:
    """Run GRPO from `model_path` (a folder or hub id); returns where the trained policy is."""
    config.validate()
    if not problems:
        raise TrainingConfigError(f"no training problems in {config.dataset} {config.split}".rstrip())
    import datasets
    from trl import GRPOTrainer

    model, tokenizer, cuda = load_for_training(model_path)
    rows = rl_rows(problems, config)
    with BlockingChecker(verifier) as blocking:
        reward = LeanReward({p.id: p for p in problems}, blocking, config, store if config.store_proofs else None,
                            model_name=config.model)
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=[reward],
            args=grpo_arguments(config, cuda),
            train_dataset=datasets.Dataset.from_list(rows),
            processing_class=tokenizer,
        )
        resume = last_checkpoint(config.output_dir)
        if resume is not None:
            logger.info("resuming from %s", resume)
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        final = config.output_dir / FINAL
        trainer.save_model(str(final))
        tokenizer.save_pretrained(str(final))
    return RLResult(final, trainer.state.global_step, reward.checked, reward.proved, list(trainer.state.log_history))
