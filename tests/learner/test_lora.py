"""LoRA: the served weights are the base with each adapter merged in (a plain model loaded
from them computes what the adapter model computes), checkpoints hold that merged model
and the adapter, and a resume rebuilds the same adapter model from them."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from zeroplay.config import LoraConfig
from zeroplay.learner.lora import ADAPTER_DIR, save_model, served_state, with_lora


@pytest.fixture
def adapted(tiny):
    import copy

    model, _ = tiny
    peft_model = with_lora(copy.deepcopy(model), LoraConfig(rank=4, alpha=8))
    torch.manual_seed(0)
    with torch.no_grad():  # adapters start as a no-op (B = 0): give them a real delta
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.05)
    return model, peft_model.eval()


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_served_weights_are_the_base_with_the_adapters_merged(adapted):
    base, peft_model = adapted
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    state = served_state(peft_model)
    assert set(state) == set(base.state_dict())
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)  # the base is frozen
    plain = type(base)(base.config)
    plain.load_state_dict(state)
    assert torch.allclose(_logits(plain.eval(), ids), _logits(peft_model, ids), atol=1e-5)
    assert not torch.allclose(_logits(base, ids), _logits(peft_model, ids), atol=1e-3)


def test_a_checkpoint_holds_the_merged_model_and_the_adapter(adapted, tmp_path):
    import copy

    base, peft_model = adapted
    ids = torch.tensor([[9, 8, 7, 6, 5]])
    save_model(peft_model, tmp_path)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path).eval()  # plain transformers
    assert torch.allclose(_logits(merged, ids), _logits(peft_model, ids), atol=1e-5)
    resumed = with_lora(copy.deepcopy(base), LoraConfig(rank=4, alpha=8),
                        adapter=tmp_path / ADAPTER_DIR).eval()
    assert torch.allclose(_logits(resumed, ids), _logits(peft_model, ids), atol=1e-6)
    assert any(p.requires_grad for p in resumed.parameters())  # trainable again
