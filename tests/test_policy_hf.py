"""The `hf` backend with the real SmolLM2 on CPU (it writes no Lean: these test the pipeline)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from lean_prover.prover.policy.base import (
    ChatMessage,
    GenerationRequest,
    ModelLoadError,
    ModelNotFoundError,
    PolicyError,
    PromptTooLongError,
)
from lean_prover.prover.policy.config import PolicyConfig
from lean_prover.prover.policy.hf_backend import HFPolicy

pytestmark = pytest.mark.slow
PROMPT = "Complete the following Lean 4 code:\n\n```lean4\ntheorem two : 1 + 1 = 2 := by\n"


def generate(policy: HFPolicy, *requests: GenerationRequest) -> list:
    return asyncio.run(policy.generate(list(requests)))


def test_batched_sampling_returns_what_was_asked(smollm2: HFPolicy) -> None:
    first, second = generate(
        smollm2,
        GenerationRequest(PROMPT, n=3, max_new_tokens=12, seed=1),
        GenerationRequest("The capital of France is", n=2, max_new_tokens=12, seed=1),
    )
    assert len(first) == 3 and len(second) == 2
    for completion in first + second:
        assert 0 < completion.token_count <= 12
        assert completion.finish_reason in ("stop", "length")


def test_max_new_tokens_is_honoured(smollm2: HFPolicy) -> None:
    (completions,) = generate(smollm2, GenerationRequest("Count: one, two, three,", n=2, max_new_tokens=5, seed=3))
    assert all(c.token_count <= 5 for c in completions)
    assert any(c.finish_reason == "length" for c in completions)


def test_tokens_are_counted_with_the_models_tokenizer(smollm2: HFPolicy) -> None:
    text = "  nlinarith [sq_nonneg (a - b), sq_nonneg (a + b)]\n"
    assert smollm2.count_tokens(text) == len(smollm2.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert smollm2.count_tokens(text + text) > smollm2.count_tokens(text) > 5
    # The bound Prover.fits_one_completion relies on: never more tokens than UTF-8 bytes + 1.
    for sample in (text, "  /- tactic state:\n    x : ℝ\n    ⊢ ∀ ε > 0, ∃ δ, |x| ≤ δ → x ∈ Set.Icc (-ε) ε\n  -/\n", "⊢⟨⟩∑∏√"):
        assert smollm2.count_tokens(sample) <= len(sample.encode("utf-8")) + 1


def test_stop_strings_end_and_are_cut(smollm2: HFPolicy) -> None:
    request = GenerationRequest("Write a sentence about cats.", temperature=0, max_new_tokens=40, stop=(" ",))
    ((completion,),) = generate(smollm2, request)
    assert " " not in completion.text and completion.finish_reason == "stop"
    assert completion.token_count < 40


def test_same_seed_same_samples(smollm2: HFPolicy) -> None:
    request = GenerationRequest(PROMPT, n=2, max_new_tokens=16, seed=7)
    (once,), (again,) = generate(smollm2, request), generate(smollm2, request)
    assert [c.text for c in once] == [c.text for c in again]


def test_concurrent_callers_share_a_batch(smollm2: HFPolicy) -> None:
    async def many() -> list:
        before = smollm2._batcher.batches_run
        results = await asyncio.gather(
            *(smollm2.generate([GenerationRequest(PROMPT, max_new_tokens=4, seed=i)]) for i in range(6))
        )
        return [smollm2._batcher.batches_run - before, results]

    batches, results = asyncio.run(many())
    assert len(results) == 6 and batches == 1


def test_logprobs_and_chat_prompts(smollm2: HFPolicy) -> None:
    chat = (ChatMessage("system", "You are terse."), ChatMessage("user", "Say hi."))
    ((scored,), (chatted,)) = generate(
        smollm2,
        GenerationRequest(PROMPT, max_new_tokens=8, seed=2, logprobs=True),
        GenerationRequest(chat, max_new_tokens=8, seed=2),
    )
    assert scored.logprob is not None and scored.logprob < 0
    assert chatted.logprob is None and chatted.text
    assert "<|im_start|>system\nYou are terse." in smollm2.render(chat)


def test_prompt_longer_than_the_context(smollm2: HFPolicy) -> None:
    with pytest.raises(PromptTooLongError, match="exceeds the model's context of 8192"):
        generate(smollm2, GenerationRequest("word " * 9000, max_new_tokens=8))


def test_missing_and_broken_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no-such-org/no-such-model"):
        HFPolicy(PolicyConfig(model="no-such-org/no-such-model", cache_dir=tmp_path))
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF but not really" * 10)
    with pytest.raises(ModelLoadError, match="does not load as a GGUF model"):
        HFPolicy(PolicyConfig(model=str(broken), cache_dir=tmp_path))
    with pytest.raises(ModelNotFoundError, match="not a model folder"):
        HFPolicy(PolicyConfig(model=str(tmp_path), cache_dir=tmp_path))


def test_a_sample_is_the_same_alone_and_in_a_batch_of_32(smollm2: HFPolicy) -> None:
    """Its text depends on its seed, not on the prompts, seeds and limits it is batched with."""
    mine = GenerationRequest(PROMPT, max_new_tokens=16, seed=11, stop=("```",))
    others = [GenerationRequest(f"Other prompt {'x ' * (i % 7)}", max_new_tokens=4 + i % 9, seed=500 + i,
                                temperature=0.7 if i % 3 else 1.0, top_p=0.9) for i in range(31)]
    ((alone,),) = generate(smollm2, mine)
    batched = generate(smollm2, *others[:15], mine, *others[15:])
    assert smollm2._batcher.batches_run >= 2
    assert batched[15][0].text == alone.text and batched[15][0].token_count == alone.token_count
    assert len({c[0].text for c in batched}) > 20  # the other seeds drew other samples


def test_a_request_is_answered_when_its_own_rows_are_done(smollm2: HFPolicy) -> None:
    async def race() -> tuple[int, list]:
        short = asyncio.ensure_future(smollm2.generate([GenerationRequest(PROMPT, max_new_tokens=2, seed=1)]))
        long = asyncio.ensure_future(smollm2.generate([GenerationRequest(PROMPT, max_new_tokens=40, seed=2,
                                                                         temperature=0)]))
        await short
        running_when_answered = smollm2.usage.running
        return running_when_answered, await long

    running, ((long,),) = asyncio.run(race())
    assert running == 1  # the long row was still being generated
    assert long.token_count > 2


def test_stop_strings_are_prepared_once(smollm2: HFPolicy, monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    built = []
    original = transformers.StopStringCriteria

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers, "StopStringCriteria", counting)
    request = GenerationRequest(PROMPT, n=2, max_new_tokens=4, seed=3, stop=("never-seen-stop",))
    generate(smollm2, request, request)
    generate(smollm2, request)
    assert len(built) == 1


def test_close_halts_the_batch_in_flight_and_keeps_finished_answers(model_cache: Path) -> None:
    """What Ctrl-C does: finished requests keep their answer; the rest end within a step."""
    import time

    policy = HFPolicy(PolicyConfig(cache_dir=model_cache, threads=1))

    async def interrupted() -> tuple[list, BaseException | None, float]:
        short = asyncio.ensure_future(policy.generate([GenerationRequest(PROMPT, max_new_tokens=2, seed=1)]))
        long = asyncio.ensure_future(policy.generate([GenerationRequest(PROMPT, max_new_tokens=4000, seed=2,
                                                                        temperature=0)]))
        done = await short
        await asyncio.sleep(1.0)
        started = time.monotonic()
        await policy.close()
        try:
            await long
            error = None
        except PolicyError as raised:
            error = raised
        return done, error, time.monotonic() - started

    (short,), error, seconds = asyncio.run(interrupted())
    assert short[0].token_count == 2
    assert isinstance(error, PolicyError) and seconds < 30  # halted, not the minutes 4,000 tokens take


def test_generation_threads_leave_lean_its_cores(model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr("lean_prover.prover.policy.config.usable_cpus", lambda: 8)
    assert PolicyConfig().threads_beside(lean_processes=2) == 6
    assert PolicyConfig().threads_beside(lean_processes=8) == 1
    assert PolicyConfig(threads=3).threads_beside(lean_processes=8) == 3
    policy = HFPolicy(PolicyConfig(cache_dir=model_cache, threads=1))
    try:
        assert policy._batcher._executor.submit(torch.get_num_threads).result() == 1
    finally:
        asyncio.run(policy.close())


def test_a_missing_path_or_an_unreachable_hub_is_one_clear_line_at_once(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A path that is not there is not sent to the hub as an id ("Repo id must be…"), and a hub
    id the cache lacks is asked for once, quickly, not retried for most of a minute."""
    import time

    from lean_prover.prover.model_files import resolve_model
    from lean_prover.prover.policy.base import HubUnreachableError

    for missing in ("/no/such/model", "./relative/model", str(tmp_path / "absent")):
        with pytest.raises(ModelNotFoundError, match="no such model folder or file"):
            resolve_model(missing, tmp_path)
    with pytest.raises(ModelNotFoundError, match="is not in the HF cache, and HF_HUB_OFFLINE is set"):
        resolve_model("no-such-org/no-such-model", tmp_path)  # the tests run with HF_HUB_OFFLINE=1
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    started = time.monotonic()
    with pytest.raises(ModelNotFoundError, match="the hub cannot be reached|the hub has no model") as raised:
        resolve_model("no-such-org/no-such-model", tmp_path)
    assert time.monotonic() - started < 30  # the hub client's retries took 48 s
    assert isinstance(raised.value, HubUnreachableError) == ("cannot be reached" in str(raised.value))
