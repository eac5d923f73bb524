"""Settings of the searches; defaults follow DeepSeek-Prover-V1.5's release."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from lean_prover.search.errors import SearchSettingError

ALGORITHMS = ("sample", "rmaxts", "bfs", "self-correct", "decompose", "hybrid")


@dataclass
class SearchConfig:
    algorithm: str = field(default="rmaxts", metadata={"help": f"Search algorithm: one of {', '.join(ALGORITHMS)}."})
    samples: int = field(
        default=6400, metadata={"help": "Budget: policy samples per problem and run (V1.5's RMaxTS release: 6400)."}
    )
    tokens: int = field(default=0, metadata={"help": "Budget: generated tokens per problem; 0 for no limit."})
    wall_time_s: float = field(default=0.0, metadata={"help": "Budget: seconds per problem; 0 for no limit."})
    concurrency: int = field(default=32, metadata={"help": "Jobs in flight per problem (V1.5: 32)."})
    stop_at_first: bool = field(default=True, metadata={"help": "Stop a problem at its first verified proof."})
    gamma: float = field(default=0.99, metadata={"help": "rmaxts, hybrid: discount of the UCB statistics (V1.5: 0.99)."})
    tactic_state_comment: bool = field(
        default=True,
        metadata={"help": "rmaxts, bfs, hybrid: write the tactic state as a comment where the proof resumes (V1.5: on)."},
    )
    checkpoint_every: int = field(default=128, metadata={"help": "RMaxTS: save the tree every this many samples (V1.5: 128)."})
    revision_rounds: int = field(default=2, metadata={"help": "self-correct, hybrid: revisions of a failed proof."})
    bfs_expansions: int = field(default=64, metadata={"help": "bfs: node budget (states expanded)."})
    bfs_candidates: int = field(default=8, metadata={"help": "bfs: tactics sampled per expanded state."})
    subgoal_algorithm: str = field(
        default="sample", metadata={"help": "decompose: the search that proves each subgoal lemma."}
    )
    subgoal_samples: int = field(default=32, metadata={"help": "decompose, hybrid: samples per subgoal lemma before it is re-sketched."})
    decompose_depth: int = field(default=2, metadata={"help": "decompose: how deep a failed subgoal may be sketched again."})
    sketches: int = field(default=4, metadata={"help": "decompose: sketches tried per theorem or lemma."})
    seed: int = field(default=0, metadata={"help": "Seed of the search's own choices (ties, code variants)."})
    disprove_samples: int = field(
        default=0,
        metadata={"help": "Before each search, samples at proving the statement's negation (0: no disproof pass); "
                          "a disproved statement is reported as such, not as unproved."},
    )

    def __post_init__(self) -> None:
        """Every count in range: `samples = 0` or `concurrency = -1` made a "complete" run of
        no samples at 0%, with exit 0."""
        for name, least in _LEAST.items():
            value = getattr(self, name)
            if value < least:
                raise SearchSettingError(f"search.{name} = {value!r}: must be at least {least}")
        if not 0 < self.gamma <= 1:
            raise SearchSettingError(f"search.gamma = {self.gamma!r}: must be in (0, 1]")


_AT_LEAST_ONE = ("samples", "concurrency", "checkpoint_every", "bfs_expansions", "bfs_candidates", "subgoal_samples",
                 "sketches")
_LEAST: dict[str, float] = {
    f.name: (1 if f.name in _AT_LEAST_ONE else 0)
    for f in fields(SearchConfig)
    if f.type in ("int", "float") and f.name not in ("seed", "gamma")
}
"""The least value of each count and limit (0 for "none": tokens, wall time, revisions, depth,
disproof samples)."""
