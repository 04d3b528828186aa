"""What both generation backends share: sampling settings, the prompt-length error, stop tokens.

    params = SamplingParams(temperature=1.0, max_new_tokens=256, max_prompt_tokens=768)
    stop_token_ids(tokenizer, model)   # eos, the model's eos ids, the end-of-turn token

`Generator` is the interface callers use (`HFGenerator` in actors/generation.py,
`VLLMGenerator` in actors/vllm_engine.py). A leaf: it imports neither backend, so each
backend imports it and `make_generator` can import both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from zeroplay.errors import ZeroplayError
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
    tokenizer: Any

    def generate(self, prompts: list[str], n: int, params: SamplingParams) -> list[Completion]:
        ...

    def load_state_dict(self, state: dict[str, Any], version: int) -> None:
        ...

    def weights_digest(self) -> str:
        ...


def stop_token_ids(tokenizer, model=None) -> set[int]:
    """Every token that ends a completion: the tokenizer's eos, the model's generation
    config eos id(s), and the token that closes an assistant turn in the chat template
    (`<|im_end|>` in ChatML), which a base model's eos may not be."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids |= set(configured) if isinstance(configured, list) else (
        {configured} if configured is not None else set())
    end_of_turn = _end_of_turn_token(tokenizer)
    if end_of_turn is not None:
        ids.add(end_of_turn)
    if not ids:
        raise ZeroplayError("the tokenizer and the model name no eos token, so generation "
                            "could never stop; use a tokenizer with an eos_token")
    return ids


def _end_of_turn_token(tokenizer) -> int | None:
    """The special token right after an assistant message in the chat template, if any."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    marker = "zeroplay-end-of-turn-probe"
    try:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": "x"}, {"role": "assistant", "content": marker}],
            tokenize=False)
    except Exception:  # a template that cannot render this turn pair: no extra stop token
        return None
    after = text[text.rfind(marker) + len(marker):] if marker in text else ""
    special = {t: tokenizer.convert_tokens_to_ids(t) for t in tokenizer.all_special_tokens}
    special |= {t.content: i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    for token, token_id in special.items():
        if token and after.lstrip().startswith(token):
            return token_id
    return None
