"""Training from Lean's verdicts: the reward, GRPO steps and SFT on stored proofs, with the
real SmolLM2 policy on CPU, and the `prover train` commands."""

from __future__ import annotations

import dataclasses

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofRecord, ProofStore
from lean_prover.lean_env.blocking import BlockingChecker
from lean_prover.lean_env.config import RayConfig
from lean_prover.lean_env.errors import LeanEnvError
from lean_prover.lean_env.guard import GuardPolicy
from lean_prover.lean_env.pool import ReplPool
from lean_prover.lean_env.protocol import Message, Pos
from lean_prover.lean_env.verdict import LeanErrors, LeanRun, Proved, Verdict
from lean_prover.lean_env.repl_checker import ReplChecker
from lean_prover.lean_env.workspace import Pins
from lean_prover.prover.training.config import RLConfig, SFTConfig, TrainingConfigError
from lean_prover.prover.training.reward import LeanReward, keeps_every_have
from lean_prover.prover.training.rl import rl_rows
from lean_prover.prover.training.sft import normalized, sft_split
from tests.conftest import FAKE_REPL, fake_certifying_workspace, run_cli, scripted_settings
from tests.doubles.checker_double import CheckerDouble

PROBLEMS = [
    Problem(f"toy_{i}", "test", "import Mathlib\n", "", f"theorem toy_{i} (x : ℕ) (h : x = {i}) : x + 0 = {i} := by\n", "", "toy")
    for i in range(2)
]


class ParityVerifier(CheckerDouble):
    """Accepts a proof of even length: a scripted verdict that splits a group's rewards."""

    def __init__(self) -> None:
        self.verdicts: list[bool] = []

    async def verify(self, problem: Problem, proof: str, restated_statement: str | None = None, preamble: str = "") -> Verdict:
        await asyncio.sleep(0)
        accepted = len(proof) % 2 == 0
        self.verdicts.append(accepted)
        if accepted:
            return Proved(LeanRun(), ())
        error = Message(severity="error", pos=Pos(line=1, column=0), data="odd")
        return LeanErrors(LeanRun(messages=(error,)), error, None)


def test_the_reward_is_leans_verdict_through_the_pool(tmp_path: Path) -> None:
    completions = ["  subst h\n  simp\n```", "  FAIL\n```", "  sorry\n```", "```"]
    verifier = ReplChecker(ReplPool(scripted_settings(), 2), Pins.unknown(), GuardPolicy())
    with ProofStore(tmp_path / "store.sqlite") as store, BlockingChecker(verifier) as blocking:
        binary = LeanReward({p.id: p for p in PROBLEMS}, blocking, RLConfig(), store, model_name="m")
        rewards = binary(prompts=[""] * 4, completions=completions, problem_id=["toy_0"] * 4, prompt_format=["non-cot"] * 4)
        shaped = LeanReward({p.id: p for p in PROBLEMS}, blocking, RLConfig(shaping_lean_errors=0.25))
        shaped_rewards = shaped(prompts=[""] * 4, completions=completions, problem_id=["toy_1"] * 4,
                                prompt_format=["non-cot"] * 4)
        assert verifier.pool.counters.checks >= 2  # the two candidates past the guard went to Lean
        (record,) = store.query()
    assert rewards == [1.0, 0.0, 0.0, 0.0]  # proved; Lean error; `sorry` (guard); no proof at all
    assert shaped_rewards == [1.0, 0.25, 0.0, 0.0]
    assert record.problem_name == "toy_0" and record.algorithm == "grpo" and record.proof == "  subst h\n  simp\n"
    assert binary.checked == 4 and binary.proved == 1


@pytest.mark.slow
def test_a_grpo_step_with_a_trainer_and_verifier_actors_on_ray(smollm2: object, model_cache: Path, tmp_path: Path) -> None:
    """ray.verifiers = 2 and ray.trainer_on_ray: the trainer is a Ray actor, and the rewards of its
    completions come from two verifier actors (each a pool of scripted REPLs)."""
    ray = pytest.importorskip("ray", reason="needs Ray")
    from lean_prover.prover.model_files import resolve_model
    from lean_prover.prover.training.on_ray import train_rl_on_ray
    from tests.conftest import REPO_ROOT
    from tests.doubles.eval_job import ScriptedReplVerifierFactory

    config = RLConfig(model="smollm2", group_size=4, prompts_per_step=2, micro_batch_size=8, max_completion_length=16,
                      max_steps=1, save_steps=1, output_dir=tmp_path / "rl")
    on_ray = RayConfig(verifiers=2, cpus_per_verifier=0.5, trainer_on_ray=True, trainer_gpus=0, trainer_cpus=1, local_cpus=2)
    result = train_rl_on_ray(config, on_ray, PROBLEMS, ScriptedReplVerifierFactory(),
                             resolve_model("smollm2", model_cache).location, tmp_path / "store.sqlite",
                             env=(("PYTHONPATH", str(REPO_ROOT)),))
    assert not ray.is_initialized()  # the instance it started is shut down
    assert result.steps == 1 and result.completions_checked == 8
    assert [e["reward"] for e in result.log_history if "reward" in e] == [result.proofs_found / 8]
    with ProofStore(tmp_path / "store.sqlite") as store:
        assert len(store.query()) <= result.proofs_found  # every proof stored (copies count once)
        assert len(store.query()) > 0 or result.proofs_found == 0


def test_consistency_needs_every_have_of_the_sketch() -> None:
    proof = "\n  have h1 : x = 2 := by\n    simpa using h\n  -- done\n  have h2 : x + 0 = 2 := by simp [h1]\n  exact h2"
    assert keeps_every_have(proof, ["have h1 : x = 2", "have  h2 : x + 0 = 2"])
    assert not keeps_every_have(proof, ["have h1 : x = 2", "have h3 : x = x"])


def test_the_consistency_reward_holds_a_chat_proof_to_its_own_sketch(tmp_path: Path) -> None:
    statement = PROBLEMS[0].formal_statement.rstrip()
    sketch = f"Plan:\n```lean4\n{statement}\n  have h1 : x = 0 := by sorry\n  have h2 : x + 0 = 0 := by sorry\n  exact h2\n```\n"
    kept = sketch + f"Proof:\n```lean4\n{statement}\n  have h1 : x = 0 := h\n  have h2 : x + 0 = 0 := by simp [h1]\n  exact h2\n```"
    dropped = sketch + f"Proof:\n```lean4\n{statement}\n  subst h\n  rfl\n```"
    verifier = ReplChecker(ReplPool(scripted_settings(), 2), Pins.unknown(), GuardPolicy())
    completions = [[{"role": "assistant", "content": text}] for text in (kept, dropped)]
    with BlockingChecker(verifier) as blocking:
        plain = LeanReward({p.id: p for p in PROBLEMS}, blocking, RLConfig())
        consistent = LeanReward({p.id: p for p in PROBLEMS}, blocking, RLConfig(consistency=True))
        kwargs: dict[str, Any] = dict(prompts=[""] * 2, completions=completions, problem_id=["toy_0"] * 2, prompt_format=["deepseek-v2-cot"] * 2)
        assert plain(**kwargs) == [1.0, 1.0]
        assert consistent(**kwargs) == [1.0, 0.0]


def test_each_problem_is_prompted_with_and_without_chain_of_thought() -> None:
    rows = rl_rows(PROBLEMS, RLConfig())
    assert [(r["problem_id"], r["prompt_format"]) for r in rows] == [
        ("toy_0", "non-cot"), ("toy_0", "cot"), ("toy_1", "non-cot"), ("toy_1", "cot")
    ]
    assert rows[1]["prompt"].startswith("Complete the following Lean 4 code with explanatory comments")
    chat = rl_rows(PROBLEMS[:1], RLConfig(prompt_formats="deepseek-v2"))
    assert chat[0]["prompt"][0]["role"] == "user"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"group_size": 1}, "at least 2"),
        ({"micro_batch_size": 7}, "must divide group_size x prompts_per_step = 512"),
        ({"prompt_formats": "cot,poem"}, "rl.prompt_formats"),
        ({"verifier_url": "lean-box:8000"}, "give an http:// or https:// URL"),
    ],
)
def test_rl_settings_that_cannot_train_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(TrainingConfigError, match=message):
        RLConfig(**changes).validate()


def test_a_trainer_on_ray_needs_verifier_actors() -> None:
    with pytest.raises(LeanEnvError, match="needs ray.verifiers"):
        RayConfig(trainer_on_ray=True)


def record(name: str, proof: str, model: str = "m") -> ProofRecord:
    problem = Problem(name, "test", "import Mathlib\n", "", f"theorem {name} : True := by\n", "", "toy")
    return ProofRecord.for_problem(problem, proof, model=model, algorithm="sample", sample_cost=1, wall_time_s=0.1,
                                   lean_version="", mathlib_version="")


def test_sft_data_drops_layout_copies_and_holds_out_whole_statements() -> None:
    records = [record(f"t{i}", f"\n  trivial{i}\n") for i in range(40)]
    records += [record("t0", "\n  trivial0   \n\n"), record("t1", "\n  exact trivial\n")]
    split = sft_split(records, SFTConfig(held_out=0.25))
    assert split.duplicates == 1 and len(split.train) + len(split.held_out) == 41
    assert 0 < len(split.held_out) < 41
    train_prompts = {e["prompt"] for e in split.train}
    assert not train_prompts & {e["prompt"] for e in split.held_out}  # a statement is on one side only
    first = next(e for e in split.train + split.held_out if "theorem t5 " in e["prompt"])
    assert first["completion"] == "\n  trivial5\n```"
    assert normalized("\n  a  \n\n  b\n") == "  a\n  b"


def test_sft_examples_keep_the_helpers_a_proof_needs() -> None:
    """A chat example writes the helpers above the statement, as the format's extraction reads
    them back; a completion format, whose prompt ends at the statement, cannot, and drops it."""
    helped = dataclasses.replace(record("h", "\n  exact helper\n"), preamble="theorem helper : True := trivial\n\n")
    plain = record("p", "\n  trivial\n")
    chat = sft_split([helped, plain], SFTConfig(held_out=0.0, prompt_format="deepseek-v2"))
    (answer,) = [e["completion"][0]["content"] for e in chat.train if "theorem h " in e["completion"][0]["content"]]
    assert answer.index("theorem helper : True := trivial") < answer.index("theorem h : True")
    completion = sft_split([helped, plain], SFTConfig(held_out=0.0, prompt_format="non-cot"))
    assert completion.need_helpers == 1 and len(completion.train) == 1


@pytest.mark.slow
def test_two_grpo_steps_change_the_weights_and_save_a_checkpoint_that_resumes(smollm2: object, model_cache: Path,
                                                                          tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from lean_prover.prover.model_files import resolve_model
    from lean_prover.prover.training.rl import train_rl

    source = resolve_model("smollm2", model_cache).location
    config = RLConfig(model="smollm2", group_size=4, prompts_per_step=2, micro_batch_size=8, max_completion_length=24,
                      max_steps=2, save_steps=2, output_dir=tmp_path / "rl")
    verifier = ParityVerifier()
    result = train_rl(config, PROBLEMS, verifier, source)
    assert result.steps == 2 and result.completions_checked == 16 == len(verifier.verdicts)
    # The rewards the trainer logged are the verifier's verdicts, step by step.
    logged = [entry["reward"] for entry in result.log_history if "reward" in entry]
    assert logged == pytest.approx([sum(verifier.verdicts[:8]) / 8, sum(verifier.verdicts[8:]) / 8])

    before = AutoModelForCausalLM.from_pretrained(source).state_dict()
    after = AutoModelForCausalLM.from_pretrained(result.model_dir).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    checkpoint = tmp_path / "rl" / "checkpoint-2"
    saved = AutoModelForCausalLM.from_pretrained(checkpoint).state_dict()
    assert all(torch.equal(saved[k], after[k]) for k in after)  # the checkpoint reloads as trained

    config.max_steps = 3  # a rerun goes on from checkpoint-2: one more step, not three
    again = train_rl(config, PROBLEMS, verifier, source)
    assert again.steps == 3 and again.completions_checked == 8


@pytest.mark.slow
def test_an_sft_step_on_stored_proofs(smollm2: object, model_cache: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from lean_prover.prover.model_files import resolve_model
    from lean_prover.prover.training.sft import train_sft

    source = resolve_model("smollm2", model_cache).location
    records = [record(f"t{i}", f"\n  trivial -- {i}\n") for i in range(12)]
    config = SFTConfig(model="smollm2", held_out=0.25, batch_size=4, micro_batch_size=4, max_steps=1, max_length=128,
                       output_dir=tmp_path / "sft")
    result = train_sft(config, records, source)
    assert result.steps == 1 and result.train_examples + result.held_out_examples == 12
    assert result.eval_loss is not None and result.eval_loss > 0
    before = AutoModelForCausalLM.from_pretrained(source).state_dict()
    after = AutoModelForCausalLM.from_pretrained(result.model_dir).state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_train_commands_refuse_bad_settings_in_one_line(tmp_path: Path, shared_data: Path) -> None:
    (tmp_path / "rl.toml").write_text("[rl]\ngroup_size = 1\n")
    result = run_cli("train", "rl", "--config", str(tmp_path / "rl.toml"), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == (
        "error: rl.group_size must be at least 2: GRPO compares completions within a group"
    )
    empty = run_cli("--set", f"store.path={tmp_path / 'none.sqlite'}", "train", "sft", cwd=tmp_path)
    assert empty.returncode == 2 and "no proof store yet" in empty.stderr
    unknown = run_cli("--set", "rl.model=no-such-org/no-such-model", "--set", f"lean.repl_command={sys.executable} {FAKE_REPL} scripted",
                      "train", "rl", cwd=tmp_path, env={"PROVER_DATA_DIR": str(shared_data)})
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1, unknown.stderr
    assert unknown.stderr.startswith("error: model 'no-such-org/no-such-model' is not in the HF cache")  # offline


@pytest.mark.slow
def test_train_rl_from_the_command_line(smollm2: object, model_cache: Path, shared_data: Path, tmp_path: Path) -> None:
    """`prover train rl --config FILE`: SmolLM2, the real REPL client over the scripted REPL."""
    (tmp_path / "two.jsonl").write_text("\n".join((shared_data / "minif2f.jsonl").read_text().splitlines()[:1]) + "\n")
    (tmp_path / "rl.toml").write_text(
        f'[rl]\nmodel = "smollm2"\ndataset = "{tmp_path / "two.jsonl"}"\nsplit = ""\ngroup_size = 2\n'
        f'prompts_per_step = 2\nmicro_batch_size = 4\nmax_completion_length = 8\nmax_steps = 1\n'
        f'output_dir = "{tmp_path / "rl"}"\n[policy]\ncache_dir = "{model_cache}"\n'
        f'[lean]\nrepl_command = "{sys.executable} {FAKE_REPL} scripted"\n'
    )
    result = run_cli("--set", f"store.path={tmp_path / 'store.sqlite'}", *fake_certifying_workspace(tmp_path / "lean"),
                     "train", "rl", "--config", str(tmp_path / "rl.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 steps;" in result.stdout and f"policy: {tmp_path / 'rl' / 'final'}" in result.stdout
    assert json.loads((tmp_path / "rl" / "final" / "config.json").read_text())["model_type"] == "llama"


def test_certified_rewards_close_the_fast_tier_to_the_policy(tmp_path: Path) -> None:
    """The scripted REPL accepts KERNEL_REJECTS (a hole in the fast tier); with
    rl.certified_rewards the policy is not paid for it, and only certified proofs are stored."""
    from lean_prover.lean_env.certify import CertifiedChecker
    from tests.conftest import fake_certify_settings, fake_certifying_workspace

    fake_certifying_workspace(tmp_path / "lean")
    certifier = CertifiedChecker(fake_certify_settings(tmp_path / "lean"), Pins.unknown())
    completions = ["  subst h\n  simp\n```", "  exact KERNEL_REJECTS\n```"]
    for certified, expected in ((False, [1.0, 1.0]), (True, [1.0, 0.0])):
        verifier = ReplChecker(ReplPool(scripted_settings(), 1), Pins.unknown(), GuardPolicy(), certifier, "final")
        with ProofStore(tmp_path / f"store-{certified}.sqlite") as store, BlockingChecker(verifier) as blocking:
            reward = LeanReward({p.id: p for p in PROBLEMS}, blocking, RLConfig(certified_rewards=certified), store)
            assert reward(prompts=[""] * 2, completions=completions, problem_id=["toy_0"] * 2,
                          prompt_format=["non-cot"] * 2) == expected
            # What is kept is certified either way: the fast tier's hole never reaches the store.
            assert [(r.proof, r.tier) for r in store.query()] == [("  subst h\n  simp\n", "certified")]
