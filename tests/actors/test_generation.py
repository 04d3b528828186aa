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


GREEDY = SamplingParams(temperature=0, max_new_tokens=20)
PROMPTS = ["def f(xs):", "<|im_start|>user\nWrite the function. A much longer prompt here."]


def test_greedy_decoding_is_the_same_across_calls_and_seeds(tiny):
    model, tok = tiny
    runs = [HFGenerator(model, tok, seed=seed).generate(PROMPTS, 3, GREEDY)
            for seed in (0, 1, None)]
    assert [o.prompt_index for o in runs[0]] == [0, 0, 0, 1, 1, 1]
    assert all(o.completion_ids == runs[0][0].completion_ids for o in runs[0][:3])
    assert all(o.completion_ids == runs[0][3].completion_ids for o in runs[0][3:])
    for other in runs[1:]:
        assert [(o.completion_ids, o.logprobs) for o in other] == \
            [(o.completion_ids, o.logprobs) for o in runs[0]]


def test_greedy_decoding_takes_the_argmax_at_every_step(tiny):
    model, tok = tiny
    for o in HFGenerator(model, tok).generate(PROMPTS, 1, GREEDY):
        ids = torch.tensor([o.prompt_ids + o.completion_ids])
        with torch.no_grad():
            logits = model(ids).logits[0].float()
        start = len(o.prompt_ids) - 1
        argmax = logits[start:start + len(o.completion_ids)].argmax(-1)
        assert argmax.tolist() == o.completion_ids  # teacher-forced: each token is the argmax


def test_greedy_logprobs_are_those_of_log_softmax_logits(tiny):
    model, tok = tiny
    for o in HFGenerator(model, tok).generate(PROMPTS, 2, GREEDY):
        ref = _forward_logprobs(model, o.prompt_ids, o.completion_ids, temperature=1.0)
        assert torch.allclose(ref, torch.tensor(o.logprobs), atol=1e-4)
