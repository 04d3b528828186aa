"""Load the policy: a hub id or local path, or the tiny model built from scratch, offline.

    model, tokenizer = load_policy(cfg.policy, cache_dir=Path("~/.cache/zeroplay"),
                                   rollout=cfg.rollout)   # also checks the lengths fit
    source = policy_source(cfg.policy)        # no weights loaded: for an engine that
    tokenizer = load_tokenizer(cfg.policy, source)  # reads them itself (vLLM)

`model: tiny` builds a byte-level BPE tokenizer trained on synthetic text (seed
synthesizer tasks rendered in the prompt formats; no real text) and a randomly
initialised small Llama-architecture causal LM, saves both with `save_pretrained` under a
directory keyed by their config, and reuses them after that. Building is deterministic for a seed.
Everything else is loaded with `local_files_only=True`: nothing is ever downloaded, and
a hub id that is not in the local Hugging Face cache is a clear error. Given the rollout
section, it checks that a prompt and its completion fit the model's positions as soon as
the model's config is read, before the weights load (the config validator can check
this only for the tiny model, whose positions are in the config).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from zeroplay.config import PolicyConfig, RolloutConfig, TinyModelConfig, positions_error
from zeroplay.errors import ConfigError, ZeroplayError

log = logging.getLogger(__name__)

TINY_RECIPE = 4  # bump when the way the tiny model is built changes
PAD, EOS, IM_START, IM_END = "<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"
# ChatML-style template, shared by the tiny model and by `plain` fallbacks.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# The tiny tokenizer's split: Qwen2's, except that a digit takes the space before it, as
# GPT-2's split does for numbers (" 7", each digit still a token of its own). The token
# before a constant is then the operator or word that names it, in the statement and in
# the code alike, which is what a one-layer model can look up.
TINY_PRETOKENIZE_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+| ?\p{N}|"
                          r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# Attention's value and output projections start as this multiple of the identity.
TINY_COPY_INIT = 0.1


class PolicyLoadError(ZeroplayError):
    """The configured model cannot be loaded (path, cache, or format)."""


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zeroplay"


def load_policy(cfg: PolicyConfig, cache_dir: Path | None = None, seed: int = 0,
                device: str | None = None, rollout: RolloutConfig | None = None
                ) -> tuple[Any, Any]:
    """(model, tokenizer) for the config; the model is in eval mode on its device.

    With `rollout`, a ConfigError if its prompt + completion lengths exceed the model's
    positions."""
    import torch
    from transformers import AutoModelForCausalLM

    source = policy_source(cfg, cache_dir, seed)
    tokenizer = load_tokenizer(cfg, source, rollout)
    dtype = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16,
             "float16": torch.float16}[cfg.dtype]
    with _load_errors(source):
        model = AutoModelForCausalLM.from_pretrained(source, local_files_only=True,
                                                     dtype=dtype, trust_remote_code=False)
    model.to(resolve_device(device or cfg.device))
    model.eval()
    return model, tokenizer


def policy_source(cfg: PolicyConfig, cache_dir: Path | None = None, seed: int = 0) -> str:
    """What `from_pretrained` loads: the tiny model's directory (built on first use), a
    local path, or a hub id (which must be in the local cache)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if cfg.model == "tiny":
        path = tiny_model_path(cfg.tiny, cache_dir or default_cache_dir(), seed)
        if not (path / "config.json").is_file():
            build_tiny_model(cfg.tiny, path, seed)
        return str(path)
    if not Path(cfg.model).exists() and not _looks_like_hub_id(cfg.model):
        raise PolicyLoadError(f"policy.model={cfg.model!r}: no such path (and not a hub id)")
    return cfg.model


def local_model_dir(source: str) -> str:
    """A directory holding the model: `source` itself, or a cached hub id's snapshot
    (for engines that take a directory, such as vLLM; nothing is downloaded)."""
    if Path(source).exists():
        return source
    from huggingface_hub import snapshot_download

    with _load_errors(source):
        return snapshot_download(source, local_files_only=True, allow_patterns=FETCH_PATTERNS)


def load_tokenizer(cfg: PolicyConfig, source: str, rollout: RolloutConfig | None = None):
    """The policy's tokenizer (a chat template and a pad token guaranteed, padding on the
    left); with `rollout`, checks the lengths fit the model's positions first."""
    from transformers import AutoConfig, AutoTokenizer

    with _load_errors(source):
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True,
                                                  trust_remote_code=False)
        if rollout is not None:
            check_positions(AutoConfig.from_pretrained(source, local_files_only=True,
                                                       trust_remote_code=False),
                            rollout, cfg.model)
    if tokenizer.chat_template is None:
        if not cfg.chat_template_fallback:
            raise PolicyLoadError(
                f"the tokenizer of policy.model={source!r} has no chat template; give the "
                "model one, or set policy.chat_template_fallback=true to use zeroplay's")
        log.warning("%s has no chat template; using zeroplay's ChatML template", source)
        tokenizer.chat_template = CHAT_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    return tokenizer


@contextlib.contextmanager
def _load_errors(source: str):
    """Turn a loader's failure into a PolicyLoadError that names the fix."""
    try:
        yield
    except (OSError, ValueError) as exc:
        where = "this path" if Path(source).exists() else "the local Hugging Face cache"
        raise PolicyLoadError(
            f"cannot load policy.model={source!r} from {where} ({str(exc).splitlines()[0]}); "
            "nothing is downloaded while a run loads it: pass a local path, or fetch the "
            f"model into the cache first, on every node that loads it (`zeroplay model fetch "
            f"{source}`; configs/ray-cluster.yaml does this in its GPU nodes' setup)"
        ) from None


def check_positions(model_config: Any, rollout: RolloutConfig, model: str) -> None:
    """ConfigError if a prompt of rollout.max_prompt_tokens plus a completion of
    rollout.max_new_tokens does not fit the model's position embeddings."""
    text_config = getattr(model_config, "get_text_config", lambda: model_config)()
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        positions = getattr(text_config, name, None)
        if isinstance(positions, int) and positions > 0:
            break
    else:
        return  # the model does not say: nothing to check against
    if rollout.max_prompt_tokens + rollout.max_new_tokens > positions:
        raise ConfigError(positions_error(rollout.max_prompt_tokens, rollout.max_new_tokens,
                                          positions, f"{name} of policy.model={model!r}"))


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise PolicyLoadError(f"policy.device={device!r} but no CUDA device is visible; "
                              "use policy.device=cpu or auto")
    return device


# What loading a causal LM needs from a hub repository (no other formats or checkpoints).
FETCH_PATTERNS = ("*.json", "*.safetensors", "*.model", "*.txt", "*.tiktoken", "*.jinja",
                  "*.py")


def fetch_model(model: str, revision: str | None = None) -> Path:
    """Download a hub model into the local Hugging Face cache, where `load_policy` (which
    never downloads) finds it. Run before a run on each node that loads the model."""
    if model == "tiny":
        raise PolicyLoadError("policy.model='tiny' is built locally from scratch; there is "
                              "nothing to fetch")
    if Path(model).exists() or not _looks_like_hub_id(model):
        raise PolicyLoadError(f"{model!r} is not a hub id (owner/name); a local path needs no "
                              "fetch")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(model, revision=revision, allow_patterns=FETCH_PATTERNS))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        raise PolicyLoadError(
            f"cannot fetch {model!r}{f' at {revision}' if revision else ''} from the Hugging "
            f"Face Hub ({str(exc).splitlines()[0]}); check the id, the network, and for a "
            "gated model HF_TOKEN (HF_HUB_OFFLINE=1 forbids any download)") from None


def _looks_like_hub_id(source: str) -> bool:
    return source.count("/") == 1 and not source.startswith((".", "/", "~"))


def copy_ready(model, scale: float) -> None:
    """Start every attention layer's value and output projections at `scale` times the
    identity, so that attending to a token adds (a multiple of) its own normalised
    embedding to the residual stream: a head copies whatever it looks at from the first
    step, and only has to learn where to look. From a random init both circuits must form
    before either lowers the loss, and 850 SFT steps did not get there (docs/results.md,
    2026-12-04). Query and key projections keep their random init."""
    import torch

    with torch.no_grad():
        for layer in model.model.layers:
            attention = layer.self_attn
            for projection, factor in ((attention.v_proj, 1.0), (attention.o_proj, scale)):
                projection.weight.copy_(factor * torch.eye(*projection.weight.shape))


def tiny_model_path(cfg: TinyModelConfig, cache_dir: Path, seed: int) -> Path:
    """Where the tiny model for this config and seed lives: a cache keyed by both and by
    its tokenizer's training text, so a synthesizer that writes other code builds a new
    model instead of reusing one whose vocabulary was learned on the old code."""
    corpus = hashlib.sha256("\0".join(tokenizer_corpus(seed)).encode()).hexdigest()
    key = json.dumps({"recipe": TINY_RECIPE, "seed": seed, "corpus": corpus, **cfg.model_dump()},
                     sort_keys=True)
    return cache_dir / f"tiny-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def tokenizer_corpus(seed: int) -> list[str]:
    """Everything the tiny tokenizer is trained on."""
    from zeroplay.actors.prompts import proposer_prompt_text_samples

    return synthetic_corpus(seed) + proposer_prompt_text_samples()


def synthetic_corpus(seed: int, n_tasks: int = 400) -> list[str]:
    """Training text for the tokenizer: synthesizer tasks in the prompt formats."""
    from zeroplay.actors.prompts import render_proposal, render_solution
    from zeroplay.curricula.synth import synthesize

    texts = []
    for draft in synthesize(n_tasks, seed=seed, max_ops=4):
        texts += [render_proposal(draft.statement, draft.reference, draft.strategy),
                  render_solution(draft.reference), draft.signature]
    return texts


def build_tiny_model(cfg: TinyModelConfig, path: Path, seed: int = 0) -> Path:
    """Train the tokenizer, initialise the model, save both to `path` atomically.

    The model is a Llama (a Qwen2 without attention biases) because transformers reloads
    any qwen2 model's tokenizer as `Qwen2Tokenizer`, which imposes Qwen2's split and would
    undo TINY_PRETOKENIZE_REGEX; a llama model's tokenizer.json is loaded as saved."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    log.info("building the tiny model in %s", path)
    corpus = tokenizer_corpus(seed)
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(TINY_PRETOKENIZE_REGEX), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size, special_tokens=[PAD, EOS, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(corpus, trainer=trainer)
    # eos is <|im_end|>, which closes every chat turn (as in Qwen's chat models): a model
    # that learned the format stops right after its answer.
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token=PAD, eos_token=IM_END, bos_token=None,
        additional_special_tokens=[IM_START, EOS])
    tokenizer.chat_template = CHAT_TEMPLATE
    model_cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.hidden_size,
        intermediate_size=cfg.hidden_size * 4, num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_attention_heads,
        max_position_embeddings=cfg.max_position_embeddings, tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(model_cfg)
    copy_ready(model, TINY_COPY_INIT)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.rename(tmp, path)
        except OSError:  # another process built it first: use theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
