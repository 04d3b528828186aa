"""Sampling completions with the per-token log-probs the learner needs.

    gen = HFGenerator(model, tokenizer, version=0)
    outs = gen.generate(["prompt a", "prompt b"], n=4, params=SamplingParams(...))
    outs[0].completion_ids, outs[0].logprobs, outs[0].finish_reason, outs[0].policy_version

`Generator` is the interface callers use; `HFGenerator` implements it with Hugging Face
`generate` on any device. A vLLM backend for GPUs implements the same two methods
(`generate`, `load_state_dict`) and is picked by `rollout.backend`, without callers
changing. Log-probs are those of the sampled tokens under the sampling distribution
before top-p truncation, i.e. `log_softmax(logits / temperature)`, the quantity TRL's
GRPO loss computes for the current policy, so the two form the importance ratio (which is
why a training config refuses `rollout.top_p < 1`; evaluation may use it).

Temperature 0 decodes greedily (`do_sample=False`, for evaluation): each prompt is
decoded once and its completion repeated `n` times, since every decode would be the same
(pass@k then equals pass@1). Its log-probs are those of the greedy tokens under
`log_softmax(logits)`, i.e. at temperature 1, the policy's own distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from zeroplay.config import backend_error
from zeroplay.errors import ConfigError, ZeroplayError
from zeroplay.handoff import Completion


class PromptTooLong(ZeroplayError):
    """A prompt longer than rollout.max_prompt_tokens."""


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 1.0  # 0: greedy decoding
    top_p: float = 1.0
    max_new_tokens: int = 256
    max_prompt_tokens: int = 768


class Generator(Protocol):
    version: int

    def generate(self, prompts: list[str], n: int, params: SamplingParams) -> list[Completion]:
        ...

    def load_state_dict(self, state: dict[str, Any], version: int) -> None:
        ...


class HFGenerator:
    """Batched sampling with transformers' `generate`."""

    def __init__(self, model, tokenizer, version: int = 0, seed: int | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.version = version
        self.seed = seed

    def load_state_dict(self, state: dict[str, Any], version: int) -> None:
        self.model.load_state_dict(state)
        self.version = version

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
        batch = tok.pad({"input_ids": encoded}, padding=True, return_tensors="pt")
        device = next(self.model.parameters()).device
        input_ids = batch["input_ids"].to(device)
        attention = batch["attention_mask"].to(device)
        greedy = params.temperature == 0
        # Greedy: one decode per prompt, repeated below (every decode would be the same).
        per_prompt, repeat = (1, n) if greedy else (n, 1)
        decoding = {"do_sample": False} if greedy else {
            "do_sample": True, "temperature": params.temperature, "top_p": params.top_p,
            "top_k": 0}
        if self.seed is not None:
            torch.manual_seed(self.seed)
        with torch.no_grad():
            out = self.model.generate(
                input_ids=input_ids, attention_mask=attention, **decoding,
                max_new_tokens=params.max_new_tokens, num_return_sequences=per_prompt,
                output_logits=True, return_dict_in_generate=True,
                pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        width = input_ids.shape[1]
        new = out.sequences[:, width:]
        logits = torch.stack(out.logits, dim=1).float()
        if not greedy:
            logits = logits / params.temperature
        logps = torch.log_softmax(logits, dim=-1).gather(-1, new.unsqueeze(-1)).squeeze(-1)
        results = []
        for row in range(new.shape[0]):
            ids = new[row].tolist()
            stopped = tok.eos_token_id in ids
            end = ids.index(tok.eos_token_id) + 1 if stopped else len(ids)
            completion = ids[:end]
            prompt_index = row // per_prompt
            for _ in range(repeat):
                results.append(Completion(
                    prompt_index=prompt_index, prompt_ids=encoded[prompt_index],
                    completion_ids=list(completion), logprobs=logps[row, :end].tolist(),
                    text=tok.decode(completion, skip_special_tokens=True),
                    finish_reason="stop" if stopped else "length",
                    policy_version=self.version))
        return results


def make_generator(backend: str, model, tokenizer, version: int = 0,
                   seed: int | None = None) -> Generator:
    """The generator for `rollout.backend`."""
    if backend == "hf":
        return HFGenerator(model, tokenizer, version, seed)
    raise ConfigError(backend_error(backend))  # Config rejects it first; kept for callers
