"""Typed configuration for a whole zeroplay run, loaded from YAML with `--set` overrides.

    cfg = load_config("configs/local.yaml", ["rollout.temperature=0.7"])
    cfg.rollout.temperature  # 0.7

Every field carries its documentation (`sections.py`). Unknown keys and wrong types are
errors that name the key, the expected type and where the value came from (file or
`--set`); they never fall back silently to a default (`loading.py`, which also reads keys
a later version renamed, with a warning). Values that depend on each other (the learner's
batch and the GRPO group size, prompt + completion lengths and the model's positions,
staleness and weight syncing, the engine length, no greedy decoding where a config
trains) are checked together on `Config` (`schema.py`, rules in `rules.py`), whose errors
quote the values and name the fix. The built-in defaults are the local CPU setup that
`configs/local.yaml` spells out, so `Config()` is always a runnable config. The resolved
config (after overrides) is what a run writes to its run directory.
"""

from zeroplay.config.loading import DEFAULT_CONFIG_PATH, RENAMES, load_config
from zeroplay.config.rules import positions_error
from zeroplay.config.schema import GENERATION_ONLY, Config
from zeroplay.config.sections import (
    TWO_SIDED_LOSSES,
    ClusterConfig,
    CurriculumConfig,
    LearnerConfig,
    LearnerResources,
    LoraConfig,
    LossType,
    PolicyConfig,
    ResourceSpec,
    RolloutConfig,
    RunConfig,
    SandboxConfig,
    Section,
    TinyModelConfig,
    VLLMConfig,
)

__all__ = ["DEFAULT_CONFIG_PATH", "GENERATION_ONLY", "RENAMES", "TWO_SIDED_LOSSES",
           "ClusterConfig", "Config", "CurriculumConfig", "LearnerConfig", "LearnerResources",
           "LoraConfig", "LossType", "PolicyConfig", "ResourceSpec", "RolloutConfig",
           "RunConfig", "SandboxConfig", "Section", "TinyModelConfig", "VLLMConfig",
           "load_config", "positions_error"]
