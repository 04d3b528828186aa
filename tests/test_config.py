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
    with pytest.raises(ConfigError, match=r"rollout\.proposer_temperature.*greater than 0"):
        load_config(None, ["rollout.proposer_temperature=0"])


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["sandbox.num_public_tests=30"], "num_public_tests=30 must be below num_tests=30"),
        (["cluster.rollout.accelerator_type=H200"], "needs num_gpus > 0"),
        (["learner.epsilon_high=0.1"], "epsilon_high=0.1 must be >= epsilon=0.2"),
        (["policy.tiny.hidden_size=130"], "multiple of num_attention_heads=4"),
        (["run.name=../escape"], "run.name"),
        (["rollout.temperature=0"], "rollout.temperature=0 decodes greedily: the "
         "rollout.num_generations=8 completions of every GRPO group would be identical"),
        (["learner.lora={rank: 8}", "learner.beta=0.1"], "learner.lora with learner.beta=0.1"),
        (["learner.lora={rank: 8}", "cluster.learner.num_workers=2"],
         "cluster.learner.num_workers=2 with learner.lora: adapters are trained by one "
         "learner worker only"),
        (["cluster.learner.num_workers=2", "learner.beta=0.04"],
         "a learner group does not keep a KL reference yet"),
        (["cluster.learner.num_workers=0"], "num_workers"),
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


# --- rules between sections (Config._dependent_values) ---------------------------------------


def test_learner_batch_must_hold_whole_groups():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["rollout.num_generations=3"])
    msg = str(err.value)
    assert msg.startswith("--set rollout.num_generations=3: ")
    assert ("learner.per_device_train_batch_size x learner.gradient_accumulation_steps = "
            "8 x 4 = 32 rows per optimizer step and learner worker is not a multiple of "
            "rollout.num_generations=3") in msg
    assert "set learner.gradient_accumulation_steps=6 or learner.per_device_train_batch_size=9" in msg
    load_config(None, ["rollout.num_generations=3", "learner.gradient_accumulation_steps=6"])


def test_prompt_and_completion_must_fit_the_tiny_models_positions():
    load_config(None, ["rollout.max_new_tokens=256"])  # 768 + 256 = 1024: equal fits
    with pytest.raises(ConfigError) as err:
        load_config(None, ["rollout.max_new_tokens=257"])
    assert ("rollout.max_prompt_tokens + rollout.max_new_tokens = 768 + 257 = 1025 tokens do "
            "not fit the model's 1024 positions (policy.tiny.max_position_embeddings=1024); "
            "lower rollout.max_prompt_tokens or rollout.max_new_tokens, or raise "
            "policy.tiny.max_position_embeddings") in str(err.value)
    # A real model's positions are checked when it is loaded (tests/actors/test_policy.py).
    load_config(None, ["rollout.max_new_tokens=4096", "policy.model=/models/coder"])


def test_staleness_must_hold_an_overlapped_round():
    pinned = ["rollout.num_generations=4", "learner.max_staleness=2"]
    with pytest.raises(ConfigError) as err:
        load_config(None, [*pinned, "learner.gradient_accumulation_steps=1"])
    msg = str(err.value)
    assert ("learner.max_staleness=2 cannot hold an overlapped round's samples: a round is "
            "(4 + 4) x 4 = 32 rows = 4 optimizer step(s) of 8 rows, with weights published "
            "every learner.sync_every=1 step(s), so the next round is up to ceil(4 / 1) + 1 = 5 "
            "versions old when trained") in msg
    assert "set learner.max_staleness=5, or learner.sync_every=4, or set run.overlap=false" in msg
    for fix in ("learner.max_staleness=5", "learner.sync_every=4", "run.overlap=false"):
        load_config(None, [*pinned, "learner.gradient_accumulation_steps=1", fix])


def test_a_learner_group_trains_a_round_in_fewer_steps():
    """Each worker takes per_device_train_batch_size rows: with 4 workers one optimizer
    step trains the whole round, so one version of staleness more suffices."""
    pinned = ["rollout.num_generations=4", "learner.gradient_accumulation_steps=1",
              "learner.max_staleness=2"]
    with pytest.raises(ConfigError, match="4 optimizer step"):
        load_config(None, pinned)
    load_config(None, [*pinned, "cluster.learner.num_workers=4"])


def test_every_learner_worker_is_counted_for_placement():
    from zeroplay.actors.runtime import role_specs

    cfg = load_config(None, ["cluster.learner.num_workers=3"])
    roles = [role for role, _ in role_specs(cfg, with_learner=True)]
    assert roles.count("learner") == 3 and roles.count("rollout") == 1


def test_staleness_below_one_round_names_the_field():
    with pytest.raises(ConfigError, match=re.escape(
            "--set learner.max_staleness=2: learner.max_staleness=2 cannot hold")):
        load_config(None, ["learner.max_staleness=2"])


def test_an_engine_too_short_for_prompt_and_completion_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["rollout.vllm.max_model_len=512"])
    assert str(err.value).startswith(
        "--set rollout.vllm.max_model_len=512: rollout.max_prompt_tokens + "
        "rollout.max_new_tokens = 768 + 256 = 1024 tokens do not fit the model's 512 positions")
    assert load_config(None, ["rollout.vllm.max_model_len=1024"])


def test_a_round_must_generate_something():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["rollout.proposals_per_step=0", "rollout.solver_tasks_per_step=0"])
    assert ("rollout.proposals_per_step=0 and rollout.solver_tasks_per_step=0: a round would "
            "generate nothing to learn from") in str(err.value)
    load_config(None, ["rollout.proposals_per_step=0"])


def test_dependent_rule_blames_the_file_when_no_override_set_it(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("rollout:\n  vllm: {max_model_len: 100}\n  num_generations: 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg_file)
    msg = str(err.value)
    assert msg.startswith("invalid config:")
    assert f"{cfg_file}: rollout.max_prompt_tokens + rollout.max_new_tokens" in msg
    assert f"{cfg_file}: learner.per_device_train_batch_size x" in msg


def test_config_show_runs_the_dependent_checks():
    from typer.testing import CliRunner

    from zeroplay.launch.cli import app

    result = CliRunner().invoke(app, ["config", "show", "--set", "rollout.num_generations=3"])
    assert result.exit_code == 2
    assert "not a multiple of rollout.num_generations=3" in result.output
    assert "Traceback" not in result.output


def test_resumed_run_dir_is_checked_too(tmp_path):
    from zeroplay.errors import RunDirError
    from zeroplay.launch.rundir import RunDir

    (tmp_path / "config.yaml").write_text("rollout:\n  vllm: {max_model_len: 100}\n")
    with pytest.raises(RunDirError, match="config.yaml cannot be read back: .*do not fit"):
        RunDir.open(tmp_path)


def test_the_proposer_gate_does_not_need_the_held_out_evaluation():
    assert load_config(None, ["run.eval_every=0", "rollout.proposer_after_solve_rate=0.3"])


def test_a_renamed_key_loads_under_its_new_name_with_a_warning(tmp_path, monkeypatch, caplog):
    """A stored run's config.yaml (what --resume reads) that uses a key a later version
    renamed, even into another section, still loads; setting both names is an error."""
    from zeroplay.config import loading

    monkeypatch.setitem(loading.RENAMES, "rollout.proposer_rows", "learner.warm_start_proposer_share")
    path = tmp_path / "config.yaml"
    path.write_text("rollout:\n  proposer_rows: 0.2\n")
    with caplog.at_level("WARNING", logger="zeroplay.config.loading"):
        cfg = load_config(path)
    assert cfg.learner.warm_start_proposer_share == 0.2
    assert "rollout.proposer_rows is now called learner.warm_start_proposer_share" in caplog.text
    path.write_text("rollout:\n  proposer_rows: 0.2\nlearner:\n  warm_start_proposer_share: 0.1\n")
    with pytest.raises(ConfigError, match="sets both rollout.proposer_rows and"):
        load_config(path)
    monkeypatch.delitem(loading.RENAMES, "rollout.proposer_rows")
    with pytest.raises(ConfigError, match="unknown key 'rollout.proposer_rows'"):
        load_config(path)
