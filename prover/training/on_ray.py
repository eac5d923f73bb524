"""GRPO with its rewards checked by Lean verifier actors on Ray, and the trainer placed by Ray.

On a cluster the trainer needs a GPU and Lean needs many CPU cores: `ray.verifiers` verifier
actors (each a REPL pool, `ray.cpus_per_verifier` CPUs) check the rewards, and with
`ray.trainer_on_ray` the trainer itself is a Ray actor holding `ray.trainer_gpus` GPUs, so a
driver without a GPU (the head node, a laptop) can launch it. Lean checker actors are restarted
when they die and their checks rerun; a trainer that dies is not restarted: run the command
again and it resumes from its last checkpoint (`rl.output_dir` must then be on a disk that
the trainer's node sees, as must the proof store).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from lean_prover.data.problem import Problem
from lean_prover.data.store import ProofStore
from lean_prover.lean_env.config import RayConfig
from lean_prover.lean_env.remote import RemoteChecker, VerifierFactory, connect_ray, start_verifier_actors
from lean_prover.prover.training.config import RLConfig
from lean_prover.prover.training.rl import RLResult, train_rl


class RLTrainer:
    """Runs `train_rl` with the rewards checked on verifier actors (here, or as a Ray actor)."""

    def train(
        self, config: RLConfig, problems: list[Problem], verifiers: list[Any], model_path: str, store_path: Path | None
    ) -> RLResult:
        with ProofStore(store_path) if store_path is not None else contextlib.nullcontext() as store:
            return train_rl(config, problems, RemoteChecker(verifiers), model_path, store)


def train_rl_on_ray(
    config: RLConfig,
    ray_config: RayConfig,
    problems: list[Problem],
    make_verifier: VerifierFactory,
    model_path: str,
    store_path: Path | None,
    env: tuple[tuple[str, str], ...] = (),
) -> RLResult:
    """GRPO with `ray_config.verifiers` verifier actors on the Ray cluster at
    `ray_config.address` (a local instance when empty); `env`: the actors' environment."""
    config.validate()
    started = connect_ray(ray_config, env)
    import ray

    verifiers = start_verifier_actors(make_verifier, ray_config.verifiers, ray_config.cpus_per_verifier)
    trainer: Any = None
    try:
        if not ray_config.trainer_on_ray:
            return RLTrainer().train(config, problems, verifiers, model_path, store_path)
        trainer = ray.remote(num_cpus=ray_config.trainer_cpus, num_gpus=ray_config.trainer_gpus)(RLTrainer).remote()
        return ray.get(trainer.train.remote(config, problems, verifiers, model_path, store_path))  # type: ignore[no-any-return]
    finally:
        for actor in verifiers + ([trainer] if trainer is not None else []):
            ray.kill(actor)
        if started:
            ray.shutdown()
