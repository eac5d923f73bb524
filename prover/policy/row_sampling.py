"""Many independent samples in one `model.generate` call, each as if it ran alone.

A search sends requests with different prompts, seeds and stop strings. Batching them into
one forward pass is what makes a local model fast, but transformers' own sampling draws
from one random stream for the whole batch, so a sample's text would depend on what it was
batched with, and its stop strings and token limits are the batch's. Two hooks into
`generate` make every row independent:

- `RowSampler` (a logits processor) draws each row's next token from its tempered
  distribution by the Gumbel-max trick, with noise from the row's own `torch.Generator`
  (adding Gumbel noise to the log-probabilities and taking the argmax samples exactly from
  the softmax), and draws again while the token falls outside the row's top-p nucleus: that
  samples exactly from the renormalized nucleus without sorting the vocabulary (a sort of 49k
  logits per row costs more than a small model's forward pass on a CPU). It then leaves only
  the chosen token, so `generate` decodes greedily and each row's choice depends only on its
  logits and its seed. Gumbel-max rather than inverting the cumulative distribution: a
  choice changes only when two perturbed scores nearly tie, so the last-bit differences
  between a batched and an unbatched forward pass rarely change a sample.
- `RowStopper` (a stopping criterion) ends each row at its own limit, end-of-sequence or
  stop string, hands the finished row over at once (so its caller need not wait for the
  batch's longest row), counts tokens as they are made, and ends every row when asked to stop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from transformers import LogitsProcessor, StoppingCriteria

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class RowSettings:
    """How one row (one sample) is drawn."""

    seed: int
    temperature: float
    """0: greedy."""
    top_p: float
    max_new_tokens: int
    stop: tuple[str, ...]


@dataclass(frozen=True)
class FinishedRow:
    row: int
    tokens: list[int]
    """The generated tokens, the end-of-sequence token included when it ended the row."""
    finish_reason: FinishReason
    logprob: float
    """Sum of the chosen tokens' log-probabilities under the model's own distribution (before
    temperature and top-p, as vLLM reports them)."""


class RowState:
    """What the sampler and the stopper of one `generate` call share: which rows are done,
    and each row's running log-probability."""

    def __init__(self, size: int, device: torch.device) -> None:
        self.done = torch.zeros(size, dtype=torch.bool, device=device)
        self.logprob = torch.zeros(size, dtype=torch.float64, device=device)


class RowSampler(LogitsProcessor):
    MAX_DRAWS = 64
    """A row whose draws all fall outside its nucleus (chance (1 - top_p)**64) takes its most likely
    token, which is always inside."""

    def __init__(self, rows: list[RowSettings], state: RowState, device: torch.device) -> None:
        self.state = state
        self.sampled = torch.tensor([r.temperature > 0 for r in rows], device=device)
        self.temperature = torch.tensor([r.temperature if r.temperature > 0 else 1.0 for r in rows],
                                        dtype=torch.float32, device=device).unsqueeze(1)
        self.top_p = torch.tensor([r.top_p if r.temperature > 0 else 1.0 for r in rows],
                                  dtype=torch.float32, device=device)
        self.generators = [torch.Generator(device=device).manual_seed(r.seed % 2**63) for r in rows]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        raw = scores.float()
        logprobs = torch.log_softmax(raw / self.temperature, dim=-1)
        choice = logprobs.argmax(dim=-1)
        pending = self.sampled & ~self.state.done  # a finished row's text is final: it draws no more
        for _ in range(self.MAX_DRAWS):
            if not bool(pending.any()):
                break
            rows = pending.nonzero().flatten()
            uniform = torch.stack([
                torch.rand(raw.shape[1], generator=self.generators[r], device=raw.device) for r in rows.tolist()
            ])
            probs = logprobs[rows].exp()
            # argmax(log p + Gumbel noise) written as argmin(Exp(1) noise / p): one logarithm per token, not two.
            candidate = (-torch.log(uniform) / probs).argmin(dim=-1, keepdim=True)
            likelier = (probs * (probs > probs.gather(1, candidate))).sum(dim=-1)
            inside = likelier < self.top_p[rows]  # within the top-p nucleus
            choice[rows[inside]] = candidate.squeeze(1)[inside]
            pending[rows[inside]] = False
        chosen = torch.log_softmax(raw, dim=-1).gather(1, choice.unsqueeze(1)).squeeze(1).double()
        self.state.logprob += torch.where(self.state.done, torch.zeros_like(chosen), chosen)
        # `generate` decodes greedily: the chosen token is the only one left.
        return torch.full_like(raw, float("-inf")).scatter_(1, choice.unsqueeze(1), 0.0)  # type: ignore[return-value]


StopMatcher = Callable[[torch.LongTensor, Any], torch.BoolTensor]


class RowStopper(StoppingCriteria):
    def __init__(
        self,
        rows: list[RowSettings],
        state: RowState,
        prompt_length: int,
        eos_token_ids: set[int],
        stop_matchers: dict[tuple[str, ...], StopMatcher],
        on_finished: Callable[[FinishedRow], None],
        on_step: Callable[[int], None],
        halt: threading.Event,
    ) -> None:
        self.state = state
        self.prompt_length = prompt_length
        self.eos = torch.tensor(sorted(eos_token_ids), device=state.done.device)
        self.max_new = torch.tensor([r.max_new_tokens for r in rows], device=state.done.device)
        self.stop_groups = {
            stop: torch.tensor([r.stop == stop for r in rows], device=state.done.device)
            for stop in {r.stop for r in rows}
            if stop
        }
        self.stop_matchers = stop_matchers
        self.on_finished = on_finished
        self.on_step = on_step
        self.halt = halt

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        done = self.state.done
        running = ~done
        self.on_step(int(running.sum()))
        generated = input_ids.shape[1] - self.prompt_length
        last = input_ids[:, -1]
        ended = torch.isin(last, self.eos) if self.eos.numel() else torch.zeros_like(done)
        for stop, members in self.stop_groups.items():
            ended = ended | (members & self.stop_matchers[stop](input_ids, scores))
        at_limit = self.max_new <= generated
        newly = running & (ended | at_limit)
        if bool(newly.any()):
            for row in newly.nonzero().flatten().tolist():
                self.on_finished(
                    FinishedRow(
                        row,
                        input_ids[row, self.prompt_length :].tolist(),
                        "stop" if bool(ended[row]) else "length",
                        float(self.state.logprob[row]),
                    )
                )
            done |= newly
        if self.halt.is_set():
            return torch.ones_like(done)  # type: ignore[return-value]
        return done.clone()  # type: ignore[return-value]
