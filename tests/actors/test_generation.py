import pytest
import torch

from zeroplay.actors.generation import HFGenerator, PromptTooLong, SamplingParams


def _forward_logprobs(model, prompt_ids, completion_ids, temperature):
    ids = torch.tensor([prompt_ids + completion_ids])
    with torch.no_grad():
        logits = model(ids).logits[0].float() / temperature
    start = len(prompt_ids) - 1
    lp = torch.log_softmax(logits[start:start + len(completion_ids)], -1)
    return lp.gather(-1, torch.tensor(completion_ids)[:, None]).squeeze(-1)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_logprobs_match_a_forward_pass(tiny, temperature):
    model, tok = tiny
    gen = HFGenerator(model, tok, version=5, seed=0)
    prompts = ["def f(xs):", "<|im_start|>user\nWrite the function. A much longer prompt here."]
    outs = gen.generate(prompts, n=3, params=SamplingParams(temperature=temperature,
                                                            top_p=0.9, max_new_tokens=24))
    assert len(outs) == 6 and [o.prompt_index for o in outs] == [0, 0, 0, 1, 1, 1]
    for o in outs:
        assert o.policy_version == 5
        assert len(o.logprobs) == len(o.completion_ids) > 0
        ref = _forward_logprobs(model, o.prompt_ids, o.completion_ids, temperature)
        assert torch.allclose(ref, torch.tensor(o.logprobs), atol=1e-4)


def test_generation_is_cut_at_max_new_tokens_and_marked(tiny):
    model, tok = tiny
    outs = HFGenerator(model, tok, seed=1).generate(["x"], 2, SamplingParams(max_new_tokens=5))
    for o in outs:
        assert o.finish_reason in ("length", "stop")
        assert len(o.completion_ids) <= 5
    assert any(o.finish_reason == "length" for o in outs)


def test_eos_stops_generation_and_is_kept(tiny):
    model, tok = tiny
    def eos_likely(module, inputs, logits):
        logits[..., tok.eos_token_id] += 100.0  # make eos (almost) certain
        return logits

    hook = model.get_output_embeddings().register_forward_hook(eos_likely)
    try:
        outs = HFGenerator(model, tok, seed=2).generate(["x"], 2, SamplingParams(max_new_tokens=8))
    finally:
        hook.remove()
    assert all(o.finish_reason == "stop" for o in outs)
    assert all(o.completion_ids[-1] == tok.eos_token_id for o in outs)


def test_prompt_over_the_limit_is_a_clear_error(tiny):
    model, tok = tiny
    with pytest.raises(PromptTooLong, match="over rollout.max_prompt_tokens=16"):
        HFGenerator(model, tok).generate(["word " * 100], 1, SamplingParams(max_prompt_tokens=16))
