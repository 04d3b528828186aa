import re
from pathlib import Path

import pytest

from zeroplay.config import Config, load_config
from zeroplay.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_local_config():
    assert load_config(REPO / "configs/local.yaml") == Config()
    assert load_config(None) == Config()


def test_cluster_config_places_roles_by_accelerator():
    cfg = load_config(REPO / "configs/cluster-h200-h20.yaml")
    assert cfg.cluster.rollout.accelerator_type == "H200"
    assert cfg.cluster.learner.accelerator_type == "H20"
    assert cfg.cluster.rollout.num_gpus >= 1 and cfg.cluster.learner.num_gpus >= 1
    assert cfg.cluster.sandbox.num_gpus == 0


@pytest.mark.parametrize(
    ("override", "path", "expected"),
    [
        ("rollout.temperature=0.7", ("rollout", "temperature"), 0.7),
        ("run.steps=3", ("run", "steps"), 3),
        ("learner.learning_rate=1e-4", ("learner", "learning_rate"), 1e-4),
        ("policy.follows_format=true", ("policy", "follows_format"), True),
        ("cluster.rollout.num_gpus=2", ("cluster", "rollout", "num_gpus"), 2.0),
        ("sandbox.banned_imports=[os, sys]", ("sandbox", "banned_imports"), ["os", "sys"]),
        ("policy.model=/models/my coder", ("policy", "model"), "/models/my coder"),
        ("learner.epsilon_high=null", ("learner", "epsilon_high"), None),
    ],
)
def test_override_applies(override, path, expected):
    node = load_config(None, [override])
    for key in path:
        node = getattr(node, key)
    assert node == expected


def test_override_beats_file_and_later_override_wins(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("run:\n  steps: 7\nrollout:\n  temperature: 0.5\n")
    cfg = load_config(cfg_file, ["run.steps=9", "run.steps=11"])
    assert cfg.run.steps == 11
    assert cfg.rollout.temperature == 0.5
    assert cfg.sandbox == Config().sandbox  # untouched sections keep their defaults


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["sandbox.pool_sise=3"])
    msg = str(err.value)
    assert "--set sandbox.pool_sise=3" in msg
    assert "unknown key 'sandbox.pool_sise'" in msg
    assert "did you mean 'pool_size'" in msg


def test_unknown_key_in_file_names_the_file(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("rollout:\n  temprature: 0.5\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: unknown key 'rollout\.temprature'"):
        load_config(cfg_file)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("rollout.temperature=hot", "rollout.temperature: expected float, got 'hot'"),
        ("run.steps=many", "run.steps: expected int, got 'many'"),
        ("learner.loss_type=ppo", "learner.loss_type: expected one of 'grpo'"),
        ("sandbox.banned_imports=os", "sandbox.banned_imports: expected a list of str"),
        ("run=3", "run: expected a section (mapping)"),
    ],
)
def test_wrong_type_names_key_and_expected_type(override, expected):
    with pytest.raises(ConfigError) as err:
        load_config(None, [override])
    assert expected in str(err.value)
    assert f"--set {override}" in str(err.value)


def test_out_of_range_value_is_rejected():
    with pytest.raises(ConfigError, match=r"run\.steps.*greater than or equal to 1"):
        load_config(None, ["run.steps=0"])


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["sandbox.num_public_tests=30"], "num_public_tests=30 must be below num_tests=30"),
        (["cluster.rollout.accelerator_type=H200"], "needs num_gpus > 0"),
        (["learner.epsilon_high=0.1"], "epsilon_high=0.1 must be >= epsilon=0.2"),
        (["policy.tiny.hidden_size=130"], "multiple of num_attention_heads=4"),
        (["run.name=../escape"], "run.name"),
    ],
)
def test_dependent_values_are_checked(overrides, expected):
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(None, overrides)


def test_several_problems_are_all_reported():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["run.steps=x", "rollout.top_k=5"])
    msg = str(err.value)
    assert msg.startswith("invalid config:")
    assert "run.steps" in msg and "rollout.top_k" in msg


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("rollout.temperature", "expected KEY=VALUE"),
        ("=3", "expected KEY=VALUE"),
        ("rollout..temperature=1", "expected KEY=VALUE"),
        ("run.steps.max=1", "run.steps is a value, not a section"),
    ],
)
def test_malformed_override(override, expected):
    extra = ["run.steps=3"] if override.startswith("run.steps.") else []
    with pytest.raises(ConfigError, match=expected):
        load_config(None, extra + [override])


def test_missing_file_says_what_to_pass(tmp_path):
    with pytest.raises(ConfigError, match=r"config file not found: .*nope\.yaml .*--config"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_gives_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("run:\n  steps: [1,\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML at line \d+, column \d+"):
        load_config(bad)


def test_non_mapping_file_is_rejected(tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- run\n- sandbox\n")
    with pytest.raises(ConfigError, match="expected a mapping of sections"):
        load_config(bad)


def test_empty_file_means_defaults(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_config(empty) == Config()


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(None, ["rollout.temperature=0.3", "cluster.learner.num_gpus=1",
                             "cluster.learner.accelerator_type=H20", "run.name=demo"])
    out = tmp_path / "config.yaml"
    cfg.write(out)
    assert load_config(out) == cfg


def test_assignment_is_validated():
    cfg = Config()
    with pytest.raises(ValueError):
        cfg.rollout.temperature = "hot"
