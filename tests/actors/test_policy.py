from pathlib import Path

import pytest

from zeroplay.actors.policy import PolicyLoadError, build_tiny_model, load_policy, resolve_device
from zeroplay.config import load_config


def test_tiny_build_is_deterministic_for_a_seed(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = load_config(None, ["policy.tiny.hidden_size=64", "policy.tiny.num_hidden_layers=1"])
    a = build_tiny_model(cfg.policy.tiny, tmp_path / "a", seed=3)
    b = build_tiny_model(cfg.policy.tiny, tmp_path / "b", seed=3)
    c = build_tiny_model(cfg.policy.tiny, tmp_path / "c", seed=4)
    ta, tb = AutoTokenizer.from_pretrained(a), AutoTokenizer.from_pretrained(b)
    assert ta.get_vocab() == tb.get_vocab()
    ma, mb, mc = (AutoModelForCausalLM.from_pretrained(p) for p in (a, b, c))
    for (name, pa), pb in zip(ma.state_dict().items(), mb.state_dict().values(), strict=True):
        assert torch.equal(pa, pb), name
    assert not all(torch.equal(x, y) for x, y in zip(ma.state_dict().values(),
                                                     mc.state_dict().values(), strict=True))


def test_a_synthesizer_that_writes_other_code_gets_another_tiny_model(tmp_path, monkeypatch):
    from zeroplay.actors import policy

    cfg = load_config(None).policy.tiny
    before = policy.tiny_model_path(cfg, tmp_path, seed=0)
    assert policy.tiny_model_path(cfg, tmp_path, seed=0) == before
    corpus = policy.synthetic_corpus
    monkeypatch.setattr(policy, "synthetic_corpus",
                        lambda seed: [t.replace("v: int = ", "v = ") for t in corpus(seed)])
    assert policy.tiny_model_path(cfg, tmp_path, seed=0) != before


def test_tiny_model_loads_back_with_chat_template_pad_and_eos(tiny, tiny_cache):
    model, tok = tiny
    assert tok.pad_token == "<|pad|>" and tok.eos_token == "<|im_end|>"
    assert tok.padding_side == "left"
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                   add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n")
    answer = tok.apply_chat_template([{"role": "assistant", "content": "x"}], tokenize=True)["input_ids"]
    assert tok.eos_token_id in answer  # every turn ends with eos
    assert model.config.model_type == "llama"
    assert 1e5 < sum(p.numel() for p in model.parameters()) < 2e7
    dirs = [p for p in tiny_cache.iterdir() if p.name.startswith("tiny-")]
    assert len(dirs) == 1 and (dirs[0] / "config.json").is_file()


def test_tokenizer_round_trips_code(tiny):
    _, tok = tiny
    code = "def f(xs: list[int]) -> int:\n    return sum(x for x in xs if x % 2 == 0)\n"
    assert tok.decode(tok(code)["input_ids"]) == code


def test_reloaded_tokenizer_splits_text_as_it_was_trained(tiny_cache):
    """What the model trained on is what any loader gives back (transformers would impose
    Qwen2's split on a qwen2 model's tokenizer): every corpus text encodes alike, and a
    digit keeps the space before it."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from zeroplay.actors.policy import synthetic_corpus

    source = next(p for p in tiny_cache.iterdir() if p.name.startswith("tiny-"))
    trained = Tokenizer.from_file(str(source / "tokenizer.json"))
    reloaded = AutoTokenizer.from_pretrained(source)
    for text in synthetic_corpus(seed=5, n_tasks=40):
        assert reloaded(text, add_special_tokens=False)["input_ids"] == \
            trained.encode(text, add_special_tokens=False).ids, text
    assert reloaded.tokenize(" x % 7 and modulo 17") == \
        ["Ġx", "Ġ%", "Ġ7", "Ġand", "Ġmodulo", "Ġ1", "7"]


def test_tiny_attention_starts_copying_what_it_attends_to(tiny_cache):
    """Value and output projections start as scaled identities; queries and keys random."""
    import torch
    from transformers import AutoModelForCausalLM

    from zeroplay.actors.policy import TINY_COPY_INIT

    source = next(p for p in tiny_cache.iterdir() if p.name.startswith("tiny-"))
    attention = AutoModelForCausalLM.from_pretrained(source).model.layers[0].self_attn
    eye = torch.eye(attention.v_proj.weight.shape[0])
    assert torch.equal(attention.v_proj.weight, eye)
    assert torch.allclose(attention.o_proj.weight, TINY_COPY_INIT * eye)
    assert not torch.allclose(attention.q_proj.weight, eye, atol=0.5)


def test_missing_path_is_a_clear_error(tmp_path):
    cfg = load_config(None, [f"policy.model={tmp_path}/nothing-here"])
    with pytest.raises(PolicyLoadError, match="no such path"):
        load_policy(cfg.policy)


def test_uncached_hub_id_is_a_clear_error_and_downloads_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    cfg = load_config(None, ["policy.model=zeroplay-test/not-a-model"])
    with pytest.raises(PolicyLoadError, match="local Hugging Face cache.*zeroplay model fetch"):
        load_policy(cfg.policy)
    assert not (tmp_path / "hf" / "hub" / "models--zeroplay-test--not-a-model").exists()


def test_directory_without_a_model_is_a_clear_error(tmp_path):
    cfg = load_config(None, [f"policy.model={tmp_path}"])
    with pytest.raises(PolicyLoadError, match="cannot load"):
        load_policy(cfg.policy)


def test_cuda_requested_without_cuda():
    import torch

    if torch.cuda.is_available():
        assert resolve_device("cuda") == "cuda"
    else:
        with pytest.raises(PolicyLoadError, match="no CUDA device"):
            resolve_device("cuda")
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize("fallback", [True, False])
def test_tokenizer_without_chat_template(tiny_cache, tmp_path, fallback):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = next(p for p in tiny_cache.iterdir() if p.name.startswith("tiny-"))
    bare = tmp_path / "bare"
    tok = AutoTokenizer.from_pretrained(source)
    tok.chat_template = None
    tok.save_pretrained(bare)
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    AutoModelForCausalLM.from_pretrained(source).save_pretrained(bare)
    cfg = load_config(None, [f"policy.model={bare}",
                             f"policy.chat_template_fallback={str(fallback).lower()}"])
    if fallback:
        _, loaded = load_policy(cfg.policy)
        assert "<|im_start|>" in loaded.chat_template
    else:
        with pytest.raises(PolicyLoadError, match="no chat template.*chat_template_fallback"):
            load_policy(cfg.policy)


def test_real_model_positions_are_checked_when_loaded(tiny_cache):
    from zeroplay.errors import ConfigError

    source = next(p for p in tiny_cache.iterdir() if p.name.startswith("tiny-"))
    cfg = load_config(None, [f"policy.model={source}", "rollout.max_new_tokens=300"])
    with pytest.raises(ConfigError) as err:
        load_policy(cfg.policy, rollout=cfg.rollout)
    assert str(err.value) == (
        "rollout.max_prompt_tokens + rollout.max_new_tokens = 768 + 300 = 1068 tokens do not "
        "fit the model's 1024 positions (max_position_embeddings of "
        f"policy.model='{source}'); lower rollout.max_prompt_tokens or rollout.max_new_tokens")
    fits = load_config(None, [f"policy.model={source}", "rollout.max_new_tokens=256"])
    load_policy(fits.policy, rollout=fits.rollout)  # equal fits


def _fake_hub(tiny_dir, hub_cache, calls):
    """snapshot_download replaced at its boundary: it lays the tiny model out in the
    cache as the hub client does (refs/main -> snapshots/<commit>/)."""
    import shutil

    def snapshot_download(repo_id, revision=None, allow_patterns=None):
        calls.append((repo_id, revision, allow_patterns))
        if repo_id.endswith("/missing"):
            from huggingface_hub.errors import LocalEntryNotFoundError

            raise LocalEntryNotFoundError("Cannot find the requested files on the Hub")
        repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
        commit = "0" * 40
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / (revision or "main")).write_text(commit)
        shutil.copytree(tiny_dir, repo / "snapshots" / commit, dirs_exist_ok=True)
        return str(repo / "snapshots" / commit)

    return snapshot_download


def test_model_fetch_fills_the_cache_that_runs_load_from(tiny, tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub import constants
    from typer.testing import CliRunner

    from zeroplay.launch.cli import app

    model, _ = tiny
    calls = []
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub, "snapshot_download",
                        _fake_hub(Path(model.config._name_or_path), tmp_path / "hub", calls))
    cfg = load_config(None, ["policy.model=zeroplay-test/coder"])
    with pytest.raises(PolicyLoadError, match="zeroplay model fetch zeroplay-test/coder"):
        load_policy(cfg.policy)  # not fetched yet: nothing is downloaded at load

    result = CliRunner().invoke(app, ["model", "fetch", "--set",
                                      "policy.model=zeroplay-test/coder"])
    assert result.exit_code == 0, result.output
    assert calls[0][:2] == ("zeroplay-test/coder", None) and "*.safetensors" in calls[0][2]
    fetched, _ = load_policy(cfg.policy)
    assert fetched.config.vocab_size == model.config.vocab_size

    missing = CliRunner().invoke(app, ["model", "fetch", "zeroplay-test/missing"])
    assert missing.exit_code == 2 and "cannot fetch 'zeroplay-test/missing'" in missing.output
    assert "Traceback" not in missing.output
    tiny_fetch = CliRunner().invoke(app, ["model", "fetch", "tiny"])
    assert tiny_fetch.exit_code == 2 and "nothing to fetch" in tiny_fetch.output
