"""Hugging Face backend specifics; the contract both backends share is in
test_generator_contract.py."""

import pytest
import torch

from tests.actors.test_generator_contract import forward_logprobs
from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.sampling import SamplingParams

GREEDY = SamplingParams(temperature=0, max_new_tokens=20)
PROMPTS = ["def f(xs):", "<|im_start|>user\nWrite the function. A much longer prompt here."]


def test_logprobs_are_those_before_top_p_truncation(tiny):
    """The contract suite (test_generator_contract.py) checks log-probs at top_p 1 on both
    backends; Hugging Face's are also those of the untruncated tempered distribution at
    top_p < 1."""
    model, tok = tiny
    outs = HFGenerator(model, tok, seed=0).generate(
        PROMPTS, 3, SamplingParams(temperature=0.7, top_p=0.9, max_new_tokens=24))
    for o in outs:
        ref = forward_logprobs(model, o.prompt_ids, o.completion_ids, 0.7)
        assert torch.allclose(ref, torch.tensor(o.logprobs), atol=1e-4)


def _always(model, token_id):
    """Make `token_id` (almost) certain at every step."""
    def boost(module, inputs, logits):
        logits[..., token_id] += 100.0
        return logits

    return model.get_output_embeddings().register_forward_hook(boost)


def test_stop_tokens_are_eos_the_generation_config_and_the_end_of_turn(tiny):
    import copy

    from zeroplay.actors.sampling import stop_token_ids

    model, tok = tiny
    base = copy.deepcopy(tok)  # a base model's tokenizer: its eos is not the turn's end
    base.eos_token = "<|endoftext|>"
    end_of_turn = tok.convert_tokens_to_ids("<|im_end|>")
    endoftext = tok.convert_tokens_to_ids("<|endoftext|>")
    assert endoftext != end_of_turn
    model.generation_config.eos_token_id = [endoftext, 7]
    try:
        assert stop_token_ids(base, model) == {endoftext, 7, end_of_turn}
        gen = HFGenerator(model, base, seed=0)
        hook = _always(model, end_of_turn)
        try:
            outs = gen.generate(["x"], 2, SamplingParams(max_new_tokens=8))
        finally:
            hook.remove()
    finally:
        model.generation_config.eos_token_id = tok.eos_token_id
    assert all(o.finish_reason == "stop" and o.completion_ids == [end_of_turn] for o in outs)
    no_template = copy.deepcopy(base)
    no_template.chat_template = None
    assert stop_token_ids(no_template) == {endoftext}


def test_chunks_of_max_batch_rows_keep_order_and_results(tiny):
    model, tok = tiny
    prompts = [*PROMPTS, "def g(s: str) -> str:"]
    whole = HFGenerator(model, tok).generate(prompts, 3, GREEDY)
    chunked = HFGenerator(model, tok, max_batch_rows=2).generate(prompts, 3, GREEDY)
    assert [o.prompt_index for o in chunked] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [o.completion_ids for o in chunked] == [o.completion_ids for o in whole]
    for a, b in zip(chunked, whole, strict=True):
        assert torch.allclose(torch.tensor(a.logprobs), torch.tensor(b.logprobs), atol=1e-4)
    sampled = HFGenerator(model, tok, seed=3, max_batch_rows=4).generate(
        prompts, 4, SamplingParams(max_new_tokens=6))  # n=4 rows per prompt: one per chunk
    assert [o.prompt_index for o in sampled] == [0] * 4 + [1] * 4 + [2] * 4


PEAK_RSS = """
import resource, sys, torch
from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
from tests.actors.test_generator_contract import forward_logprobs
from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.sampling import SamplingParams
tok = AutoTokenizer.from_pretrained(sys.argv[1])
torch.manual_seed(0)
model = Qwen2ForCausalLM(Qwen2Config(
    vocab_size=151_936, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
    num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
    tie_word_embeddings=True, pad_token_id=tok.pad_token_id)).eval()
gen = HFGenerator(model, tok, seed=0, max_batch_rows=int(sys.argv[2]))
params = SamplingParams(max_new_tokens=64)
gen.generate(["warm up"], 1, params)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
outs = gen.generate(["def f(x):", "def g(xs):"] * 4, 8, params)  # 64 rows x 64 tokens
assert len(outs) == 64 and all(len(o.logprobs) == len(o.completion_ids) for o in outs)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""
PEAK_GROWTH_BOUND = 600 * 2**20


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_rows_times_steps_times_vocabulary(tiny):
    """64 rows x 64 new tokens of a 151,936-token vocabulary. Keeping every step's fp32
    logits grew the peak by 7.0 GiB (measured); holding one step's distribution at a
    time, about 0.2 GiB."""
    import subprocess
    import sys

    model, tok = tiny
    run = subprocess.run([sys.executable, "-c", PEAK_RSS, model.config._name_or_path, "64"],
                         capture_output=True, text=True, check=True, timeout=600)
    growth = int(run.stdout.split()[-1])
    assert growth < PEAK_GROWTH_BOUND, f"{growth / 2**20:.0f} MiB"
