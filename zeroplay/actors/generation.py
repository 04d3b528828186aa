"""Sampling completions with the per-token log-probs the learner needs.

    gen = HFGenerator(model, tokenizer, version=0)
    outs = gen.generate(["prompt a", "prompt b"], n=4, params=SamplingParams(...))
    outs[0].completion_ids, outs[0].logprobs, outs[0].finish_reason, outs[0].policy_version

`Generator` (actors/sampling.py) is the interface callers use; `HFGenerator` implements it
with Hugging Face `generate` on any device, `VLLMGenerator` (actors/vllm_engine.py) with a
vLLM engine; `make_generator` picks one by `rollout.backend`, without callers changing.
Log-probs are those of the sampled tokens under the sampling distribution before top-p
truncation, i.e. `log_softmax(logits / temperature)`, the quantity TRL's GRPO loss
computes for the current policy, so the two form the importance ratio (which is why a
training config refuses `rollout.top_p < 1`; evaluation may use it).

Temperature 0 decodes greedily (`do_sample=False`, for evaluation): each prompt is
decoded once and its completion repeated `n` times, since every decode would be the same
(pass@k then equals pass@1). Its log-probs are those of the greedy tokens under
`log_softmax(logits)`, i.e. at temperature 1, the policy's own distribution.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zeroplay.actors.sampling import Generator, PromptTooLong, SamplingParams, stop_token_ids
from zeroplay.actors.weights import state_digest
from zeroplay.config import Config
from zeroplay.handoff import Completion


class HFGenerator:
    """Batched sampling with transformers' `generate`, bounded in memory: rows go through
    in chunks of at most `max_batch_rows`, and each sampled token's log-prob is taken as
    decoding goes, so no step's full-vocabulary logits are kept beyond the next step."""

    def __init__(self, model, tokenizer, version: int = 0, seed: int | None = None,
                 max_batch_rows: int = 64):
        self.model = model
        self.tokenizer = tokenizer
        self.version = version
        self.seed = seed
        self.max_batch_rows = max_batch_rows
        self.stop_ids = stop_token_ids(tokenizer, model)

    def load_state_dict(self, state: dict[str, Any], version: int) -> None:
        self.model.load_state_dict(state)
        self.version = version

    def weights_digest(self) -> str:
        """A hash of the live weights (equal to the learner's digest of what it published)."""
        return state_digest(self.model.state_dict())

    def generate(self, prompts: list[str], n: int, params: SamplingParams) -> list[Completion]:
        """n completions per prompt, consecutive. At temperature 0 decoding is greedy: one
        decode per prompt repeated n times, with the greedy tokens' log-probs under
        `log_softmax(logits)` (temperature 1)."""
        import torch

        tok = self.tokenizer
        encoded = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        for i, ids in enumerate(encoded):
            if len(ids) > params.max_prompt_tokens:
                raise PromptTooLong(
                    f"prompt {i} has {len(ids)} tokens, over rollout.max_prompt_tokens="
                    f"{params.max_prompt_tokens}; shorten it or raise the limit")
        # Greedy: one decode per prompt, repeated below (every decode would be the same).
        per_prompt = 1 if params.temperature == 0 else n
        chunk = max(1, self.max_batch_rows // per_prompt)  # whole prompts per chunk
        if self.seed is not None:
            torch.manual_seed(self.seed)
        results = []
        for first in range(0, len(encoded), chunk):
            for row, (ids, logps) in enumerate(self._decode(encoded[first:first + chunk],
                                                            per_prompt, params)):
                prompt_index = first + row // per_prompt
                stop = next((k for k, t in enumerate(ids) if t in self.stop_ids), None)
                end = len(ids) if stop is None else stop + 1
                for _ in range(n // per_prompt):
                    results.append(Completion(
                        prompt_index=prompt_index, prompt_ids=encoded[prompt_index],
                        completion_ids=ids[:end], logprobs=logps[:end],
                        text=tok.decode(ids[:end], skip_special_tokens=True),
                        finish_reason="length" if stop is None else "stop",
                        policy_version=self.version))
        return results

    def _decode(self, encoded: list[list[int]], per_prompt: int, params: SamplingParams
                ) -> list[tuple[list[int], list[float]]]:
        """(new token ids, their log-probs) per row: `per_prompt` rows per prompt."""
        import torch
        from transformers import (
            GenerationConfig,
            LogitsProcessorList,
            TemperatureLogitsWarper,
            TopPLogitsWarper,
        )

        tok = self.tokenizer
        batch = tok.pad({"input_ids": encoded}, padding=True, return_tensors="pt")
        device = next(self.model.parameters()).device
        recorder = _SampledLogprobs()
        # A config of our own, so a model's generation_config (repetition penalty, top-k,
        # ...) cannot change the sampled distribution behind the recorded log-probs.
        sampling = {"do_sample": True, "top_k": 0, "top_p": 1.0, "temperature": 1.0} \
            if params.temperature > 0 else {"do_sample": False}
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens, num_return_sequences=per_prompt,
            eos_token_id=sorted(self.stop_ids), pad_token_id=tok.pad_token_id, **sampling)
        processors = [recorder]  # log_softmax(logits / T), recorded before top-p
        if params.temperature > 0:
            processors = [TemperatureLogitsWarper(params.temperature), recorder]
            if params.top_p < 1:
                processors.append(TopPLogitsWarper(params.top_p))
        with torch.no_grad():
            sequences = self.model.generate(
                input_ids=batch["input_ids"].to(device),
                attention_mask=batch["attention_mask"].to(device),
                generation_config=config, logits_processor=LogitsProcessorList(processors))
        new = sequences[:, batch["input_ids"].shape[1]:]
        logps = recorder.finish(new)
        return [(new[row].tolist(), logps[row].tolist()) for row in range(new.shape[0])]


class _SampledLogprobs:
    """A logits processor that keeps the log-prob of every sampled token. The token of
    step t is only known at step t + 1, so one step's log-softmax is held until then:
    memory is one [rows, vocabulary] tensor, not one per step."""

    def __init__(self):
        self.held = None
        self.taken = []

    def __call__(self, input_ids, scores):
        if self.held is not None:
            self._take(input_ids[:, -1])
        self.held = scores.float().log_softmax(-1)
        return scores

    def _take(self, tokens) -> None:
        self.taken.append(self.held.gather(-1, tokens[:, None]).squeeze(-1))
        self.held = None

    def finish(self, new_tokens):
        """[rows, new tokens] log-probs, once `generate` returned those tokens."""
        import torch

        if self.held is not None and new_tokens.shape[1] > len(self.taken):
            self._take(new_tokens[:, len(self.taken)])
        if not self.taken:
            return torch.zeros(new_tokens.shape[0], 0)
        return torch.stack(self.taken, dim=1).cpu()


def make_generator(cfg: Config, cache_dir: Path | None = None, version: int = 0,
                   seed: int | None = None) -> Generator:
    """The generator `rollout.backend` names, with the policy of `cfg` loaded into it
    (the vLLM engine loads the weights itself: no Hugging Face copy is held)."""
    from zeroplay.actors.policy import load_policy, load_tokenizer, local_model_dir, policy_source

    if cfg.rollout.backend == "vllm":
        from zeroplay.actors.vllm_engine import VLLMGenerator

        source = policy_source(cfg.policy, cache_dir, cfg.run.seed)
        tokenizer = load_tokenizer(cfg.policy, source, cfg.rollout)
        return VLLMGenerator(local_model_dir(source), tokenizer, cfg.rollout, cfg.policy.dtype,
                             version, seed)
    model, tokenizer = load_policy(cfg.policy, cache_dir, seed=cfg.run.seed, rollout=cfg.rollout)
    return HFGenerator(model, tokenizer, version, seed, cfg.rollout.max_batch_rows)
