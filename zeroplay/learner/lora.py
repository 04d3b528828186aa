"""Low-rank adapters (peft) for the learner, and the merged weights the rollout actors serve.

    model = with_lora(model, cfg.learner.lora)           # fresh adapters on the policy
    model = with_lora(model, cfg.learner.lora, adapter=checkpoint / ADAPTER_DIR)  # resume
    state = served_state(model)   # base names, each adapter merged in (a plain state dict
                                  # for a model without adapters)

Rollout engines never see adapters: they get `served_state`, so both backends (and a
vLLM engine's weight reload) stay as they are. Checkpoints save that merged model as the
model (plain transformers loads it, `zeroplay eval` too) and the adapter beside it; a
resume loads the base policy again and the adapter on top, so the base must be the same
model (policy.model), which a hub id or local path and the seeded tiny model are.
"""

from __future__ import annotations

from pathlib import Path

from zeroplay.config import LoraConfig

ADAPTER_DIR = "adapter"


def with_lora(model, lora: LoraConfig, adapter: Path | None = None):
    """`model` with trainable adapters (from `adapter` when resuming); its base weights
    are frozen."""
    from peft import LoraConfig as PeftLoraConfig
    from peft import PeftModel, get_peft_model

    if adapter is not None:
        return PeftModel.from_pretrained(model, str(adapter), is_trainable=True)
    return get_peft_model(model, PeftLoraConfig(
        r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
        target_modules=lora.target_modules, task_type="CAUSAL_LM"))


def has_adapters(model) -> bool:
    return hasattr(model, "peft_config")


def served_state(model) -> dict:
    """The state dict the rollout actors load: for an adapter model, the base model's
    names and weights with every adapter's delta added (nothing is merged in place)."""
    if not has_adapters(model):
        return model.state_dict()
    base = model.get_base_model()
    deltas = {name: module.get_delta_weight(module.active_adapters[0])
              for name, module in base.named_modules()
              if hasattr(module, "base_layer") and hasattr(module, "get_delta_weight")}
    state = {}
    for key, value in base.state_dict().items():
        if ".lora_" in key:
            continue
        key = key.replace(".base_layer.", ".")
        module = key.rsplit(".", 1)[0]
        state[key] = value + deltas[module] if key.endswith(".weight") and module in deltas \
            else value
    return state


def save_model(model, path: Path) -> None:
    """`save_pretrained`; an adapter model saves its merged weights as the model and its
    adapter in `path/adapter`."""
    if not has_adapters(model):
        model.save_pretrained(path)
        return
    model.get_base_model().save_pretrained(path, state_dict=served_state(model))
    model.save_pretrained(path / ADAPTER_DIR)
