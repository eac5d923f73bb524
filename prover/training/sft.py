"""Expert iteration: fine-tune the policy on the verified proofs in the store (TRL's SFTTrainer).

`prover collect` fills the store, `prover train sft` trains on it, and the trained model
collects again. Each example is the prompt of `prompt_format` for the proof's statement, and
the proof as the completion (the loss is on the completion only). Proofs that differ only in
layout count once. A share of statements is held out, whole (every proof of a held-out
statement), for the eval loss; which ones depends on the statement alone, so that a store
that grows keeps its held-out statements held out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofRecord
from lean_prover.data.leandojo import TracedTheorem
from lean_prover.prover.prompts import TACTIC_INDENT, Resume, build_prompt, get_format
from lean_prover.prover.training.config import SFTConfig, TrainingConfigError
from lean_prover.prover.training.models import last_checkpoint, load_for_training
from lean_prover.prover.training.rl import FINAL, as_trl_prompt

logger = logging.getLogger(__name__)

HELD_OUT_BUCKETS = 10_000


@dataclass(frozen=True)
class SFTSplit:
    train: list[dict[str, Any]]
    held_out: list[dict[str, Any]]
    duplicates: int
    """Proofs dropped as copies of another proof of the same statement (layout aside)."""
    need_helpers: int = 0
    """Proofs dropped because they need helper declarations that a completion format's
    prompt (which ends at the statement) has no place for."""


@dataclass(frozen=True)
class SFTResult:
    model_dir: Path
    steps: int
    train_examples: int
    held_out_examples: int
    eval_loss: float | None


def normalized(proof: str) -> str:
    """A proof's text with its layout's noise gone: trailing spaces and blank lines."""
    return "\n".join(line.rstrip() for line in proof.strip("\n").split("\n") if line.strip())


def is_held_out(statement_sha256: str, share: float) -> bool:
    return int(statement_sha256[:8], 16) % HELD_OUT_BUCKETS < share * HELD_OUT_BUCKETS


def record_problem(record: ProofRecord) -> Problem:
    return Problem(record.problem_name, "", record.header, "", record.formal_statement, "", record.dataset,
                   context=record.context)


def example(record: ProofRecord, prompt_format: str) -> dict[str, Any] | None:
    """A prompt-completion pair: the completion is what the format's extraction reads back
    (helpers and all). None for a proof with helpers in a completion format: its prompt ends at
    the statement, and a continuation cannot write declarations above it."""
    problem = record_problem(record)
    proof = record.proof.rstrip()
    if get_format(prompt_format).kind == "completion":
        if record.preamble.strip():
            return None
        return {"prompt": build_prompt(problem, prompt_format), "completion": proof + "\n```"}
    theorem = (problem.header + problem.context + record.preamble + problem.formal_statement + proof).strip()
    answer = f"```lean4\n{theorem}\n```"
    return {
        "prompt": as_trl_prompt(build_prompt(problem, prompt_format)),
        "completion": [{"role": "assistant", "content": answer}],
    }


def sft_split(records: list[ProofRecord], config: SFTConfig) -> SFTSplit:
    seen: set[tuple[str, str]] = set()
    train: list[dict[str, Any]] = []
    held_out: list[dict[str, Any]] = []
    duplicates = need_helpers = 0
    for record in records:
        key = (record.statement_sha256, normalized(record.preamble + "\n" + record.proof))
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        pair = example(record, config.prompt_format)
        if pair is None:
            need_helpers += 1
            continue
        target = held_out if is_held_out(record.statement_sha256, config.held_out) else train
        target.append(pair)
    return SFTSplit(train, held_out, duplicates, need_helpers)


def tactic_example(problem: Problem, before: list[str], tactic: str, state: str, prompt_format: str,
                   comment: bool) -> dict[str, Any]:
    """One traced step as best-first search asks for it: the statement, the tactics so far, the
    state as a comment (when search.tactic_state_comment is on), and the tactic as the completion."""
    prefix = "".join(f"{TACTIC_INDENT}{earlier}\n" for earlier in before)
    resume = Resume(prefix, state if comment else None, TACTIC_INDENT)
    return {"prompt": build_prompt(problem, prompt_format, resume=resume), "completion": tactic + "\n"}


def tactic_split(problems: list[Problem], theorems: list[TracedTheorem], prompt_format: str, comment: bool) -> SFTSplit:
    """The traced steps of the theorems with a statement: LeanDojo's `train` split to train on,
    its `val` split held out (the `test` split is left for evaluation). Tactics that span lines
    are left out: best-first search proposes one line at a time."""
    by_id = {problem.id: problem for problem in problems}
    train: list[dict[str, Any]] = []
    held_out: list[dict[str, Any]] = []
    multi_line = 0
    for theorem in theorems:
        problem = by_id.get(theorem.full_name)
        if problem is None or theorem.split == "test":
            continue
        target = train if theorem.split == "train" else held_out
        before: list[str] = []
        for step in theorem.tactics:
            if "\n" in step.tactic:
                multi_line += 1
                break  # the steps after it would follow a prefix best-first search never writes
            target.append(tactic_example(problem, before, step.tactic, step.state_before, prompt_format, comment))
            before.append(step.tactic)
    if multi_line:
        logger.info("%d theorems' steps stop at a tactic that spans lines", multi_line)
    return SFTSplit(train, held_out, 0)


def sft_arguments(config: SFTConfig, cuda: bool, evaluate: bool) -> Any:
    from trl import SFTConfig as TRLSFTConfig

    return TRLSFTConfig(
        output_dir=str(config.output_dir),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=config.batch_size // config.micro_batch_size,
        per_device_eval_batch_size=config.micro_batch_size,
        max_length=config.max_length,
        save_steps=config.save_steps,
        eval_strategy="epoch" if evaluate else "no",
        seed=config.seed,
        use_cpu=not cuda,
        bf16=cuda,
        logging_steps=1,
        report_to="none",
    )


def train_sft(config: SFTConfig, records: list[ProofRecord], model_path: str) -> SFTResult:
    """Fine-tune `model_path` on `records` (the store's proofs); returns where the model is."""
    config.validate()
    split = sft_split(records, config)
    if not split.train:
        raise TrainingConfigError(
            f"no proofs to train on ({len(records)} in the store, {len(split.held_out)} held out): run `prover collect` first"
        )
    logger.info("%d training proofs, %d held out, %d duplicates dropped, %d needing helpers a %s prompt cannot hold dropped",
                len(split.train), len(split.held_out), split.duplicates, split.need_helpers, config.prompt_format)
    return train_on(config, split, model_path)


def train_on(config: SFTConfig, split: SFTSplit, model_path: str) -> SFTResult:
    """Fine-tune `model_path` on prompt-completion examples; returns where the model is."""
    import datasets
    from trl import SFTTrainer

    model, tokenizer, cuda = load_for_training(model_path)
    trainer = SFTTrainer(
        model=model,
        args=sft_arguments(config, cuda, evaluate=bool(split.held_out)),
        train_dataset=datasets.Dataset.from_list(split.train),
        eval_dataset=datasets.Dataset.from_list(split.held_out) if split.held_out else None,
        processing_class=tokenizer,
    )
    resume = last_checkpoint(config.output_dir)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    eval_loss = trainer.evaluate()["eval_loss"] if split.held_out else None
    final = config.output_dir / FINAL
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    return SFTResult(final, trainer.state.global_step, len(split.train), len(split.held_out), eval_loss)
