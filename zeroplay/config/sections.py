"""The sections of a run's config, one pydantic model each, every field documented.

    SandboxConfig().pool_size            # 2
    RolloutConfig(temperature=0.7)       # checked on construction and on assignment

Each section checks the values within it (unknown keys, types, ranges, orders); rules that
tie sections together live in `rules.py`, the whole config in `schema.py`. The defaults are
the local CPU setup that `configs/local.yaml` spells out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The loss types of TRL's GRPOConfig (trl 1.16).
LossType = Literal["grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo", "luspo", "vespo"]
TWO_SIDED_LOSSES = ("grpo", "dr_grpo", "dapo", "bnpo", "luspo")  # where TRL applies `delta`


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are checked."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RunConfig(Section):
    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Run name: the run directory is <runs_dir>/<name>. Default: a timestamp.",
    )
    runs_dir: Path = Field(Path("runs"), description="Directory that holds run directories.")
    steps: int = Field(20, ge=1, description="Self-play steps to run.")
    seed: int = Field(0, description="Seed for everything random in the run (sampling, init).")
    overlap: bool = Field(
        True,
        description="Generate and judge step t+1 while the learner trains on step t "
        "(False: wait for the learner after every step).",
    )
    eval_every: int = Field(
        10, ge=0,
        description="Evaluate greedy pass@1 on run.eval_tasks tasks of each held-out split "
        "when self-play starts, every N steps and at the end (0: never).",
    )
    eval_tasks: int = Field(
        100, ge=1, description="Tasks of each held-out split evaluated during a run (the "
        "first N by id: the same tasks every time).",
    )
    report_to: list[Literal["tensorboard", "wandb", "trackio", "mlflow"]] = Field(
        default_factory=list,
        description="Experiment trackers that get each step's scalars under the run's name, "
        "as in transformers' report_to: tensorboard (<run>/tensorboard), wandb, trackio, "
        "mlflow (<run>/mlflow.db unless MLFLOW_TRACKING_URI is set); [] or 'none': none.",
    )
    storage: str | None = Field(
        None,
        description="Where checkpoints also go, under <storage>/<run name>/checkpoints, so "
        "that a resume finds them whichever node the learner ran on: an absolute path every "
        "node mounts, or a pyarrow.fs URI (s3://, gs://, hdfs://, file://). None: only the "
        "learner node's run directory, which a resume on another node cannot see.",
    )

    @field_validator("storage")
    @classmethod
    def _storage_absolute(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value and not Path(value).is_absolute():
            raise ValueError(f"{value!r} is a relative path, which each node would resolve "
                             "in its own working directory: give an absolute path or a URI")
        return value

    @field_validator("report_to", mode="before")
    @classmethod
    def _report_to_list(cls, value: Any) -> Any:
        if value is None or value == "none":
            return []
        names = [value] if isinstance(value, str) else value
        return list(dict.fromkeys(n for n in names if n != "none"))  # each once, in order


class ResourceSpec(Section):
    """What one Ray actor of a role asks for. Named resources, never guessed."""

    num_cpus: float = Field(1.0, ge=0, description="CPUs reserved per actor.")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per actor; 0 runs on CPU.")
    accelerator_type: str | None = Field(
        None,
        description='Ray accelerator type to place on, e.g. "H200" or "H20" '
        "(matches the node resource accelerator_type:<TYPE>). None: any node.",
    )
    resources: dict[str, float] = Field(
        default_factory=dict,
        description="Custom Ray node resources per actor, e.g. {zeroplay_sandbox: 1} to "
        "place sandbox actors only on the node type that offers it (configs/ray-cluster.yaml).",
    )

    @model_validator(mode="after")
    def _accelerator_needs_gpu(self) -> ResourceSpec:
        if self.accelerator_type is not None and self.num_gpus <= 0:
            raise ValueError(
                f"accelerator_type={self.accelerator_type!r} needs num_gpus > 0 "
                f"(got num_gpus={self.num_gpus}); set num_gpus or drop accelerator_type"
            )
        return self


class LearnerResources(ResourceSpec):
    """What each learner worker asks for, and how many train the model together."""

    num_workers: int = Field(
        1, ge=1,
        description="Learner workers training one model with FSDP2 (each holds a shard of "
        "the weights, gradients and optimizer states; NCCL on GPUs, gloo on CPU). Each "
        "takes learner.per_device_train_batch_size rows per micro-batch.",
    )


class ClusterConfig(Section):
    address: str | None = Field(
        None,
        description="Ray cluster to join (e.g. 'auto' or 'ray://head:10001'). None: use "
        "RAY_ADDRESS if set, else start a local Ray runtime.",
    )
    namespace: str = Field("zeroplay", description="Ray namespace for the run's named actors.")
    local_num_cpus: int | None = Field(
        None, ge=1,
        description="Logical CPUs of a locally started Ray runtime. None: the machine's "
        "cores, or what the actors ask for if that is more.",
    )
    dashboard: bool = Field(
        True, description="Start the Ray dashboard (127.0.0.1:8265) with a local runtime."
    )
    rollout: ResourceSpec = Field(
        default_factory=ResourceSpec, description="Resources of each rollout actor."
    )
    learner: LearnerResources = Field(
        default_factory=LearnerResources,
        description="Resources of each learner worker, and how many there are.",
    )
    sandbox: ResourceSpec = Field(
        default_factory=lambda: ResourceSpec(num_cpus=0.0),
        description="Resources of the sandbox actor on each node. It only relays jobs to "
        "Docker, whose containers are limited by sandbox.cpus and sandbox.memory_mb, so "
        "locally it reserves none; on a cluster give it CPUs to place it on CPU nodes.",
    )


class SandboxConfig(Section):
    image: str = Field(
        "zeroplay-sandbox",
        description="Repository name of the sandbox image; its tag is a content hash.",
    )
    base_image: str = Field(
        "debootstrap",
        description="'debootstrap' builds the base offline from Debian packages; any other "
        "value is an image reference to start from (e.g. python:3.11-slim).",
    )
    debian_suite: str = Field("bookworm", description="Debian suite of the debootstrap base.")
    debian_mirror: str = Field(
        "http://deb.debian.org/debian", description="Debian mirror for debootstrap."
    )
    runtime: str = Field("runc", description="Container runtime, e.g. 'runsc' for gVisor.")
    pool_size: int = Field(2, ge=1, description="Warm containers in the pool on each node.")
    memory_mb: int = Field(512, ge=64, description="Memory (and memory+swap) per container.")
    cpus: float = Field(1.0, gt=0, description="CPU quota per container.")
    pids_limit: int = Field(64, ge=8, description="Max processes+threads per container.")
    tmpfs_mb: int = Field(16, ge=1, description="Size of the /tmp scratch tmpfs per container.")
    job_timeout_s: float = Field(10.0, gt=0, description="Wall-clock limit of one job.")
    cpu_seconds: int = Field(5, ge=1, description="CPU-seconds rlimit of one job.")
    job_memory_mb: int = Field(
        256, ge=32, description="Address-space rlimit of one job (below memory_mb)."
    )
    max_output_bytes: int = Field(
        65536, ge=1024, description="Cap on what a job may print; the rest is dropped."
    )
    recycle_after_jobs: int = Field(
        500, ge=1, description="Replace a container after this many jobs."
    )
    num_tests: int = Field(30, ge=2, description="Hypothesis-drawn test inputs per task.")
    num_public_tests: int = Field(
        3, ge=0, description="Of those, cases shown to the solver (informative ones, not "
        "Hypothesis' minimal first draws: sandbox/public.py); the rest stay hidden."
    )
    max_collection_size: int = Field(
        20, ge=0, description="Cap on the size of drawn lists, sets, dicts and texts."
    )
    max_reference_chars: int = Field(
        20_000, ge=1,
        description="Longest task reference the sandbox runs; a longer draft is rejected "
        "(reference_too_long) on the host. Self-play proposals meet the tighter "
        "curriculum.max_reference_chars first.",
    )
    max_solution_chars: int = Field(
        20_000, ge=1,
        description="Longest solution the sandbox runs; a longer one gets status error and "
        "reward 0 on the host, without running.",
    )
    max_reference_error_rate: float = Field(
        0.25, ge=0, le=1,
        description="Share of drawn inputs on which a reference may raise; those inputs are "
        "dropped, more rejects the draft.",
    )
    float_tolerance: float = Field(
        1e-6, ge=0, description="Relative tolerance when comparing float results."
    )
    reward: Literal["all_pass", "pass_fraction"] = Field(
        "all_pass", description="Solver reward: 1 if all hidden tests pass, or the pass fraction."
    )
    banned_imports: list[str] = Field(
        default_factory=lambda: [
            "os", "sys", "subprocess", "socket", "shutil", "threading", "multiprocessing",
            "random", "time", "datetime", "ctypes", "signal", "resource", "importlib",
            "pathlib", "io", "builtins", "gc", "inspect", "pickle", "marshal", "hashlib",
        ],
        description="Modules a task reference may not import (rejected before running).",
    )
    banned_calls: list[str] = Field(
        default_factory=lambda: [
            "open", "eval", "exec", "compile", "__import__", "input", "globals", "locals",
            "vars", "getattr", "setattr", "delattr", "breakpoint", "exit", "quit",
        ],
        description="Builtins a task reference may not call.",
    )

    @model_validator(mode="after")
    def _limits_consistent(self) -> SandboxConfig:
        if self.job_memory_mb >= self.memory_mb:
            raise ValueError(
                f"job_memory_mb={self.job_memory_mb} must be below memory_mb={self.memory_mb}: "
                "the supervisor needs room beside the job"
            )
        if self.num_public_tests >= self.num_tests:
            raise ValueError(
                f"num_public_tests={self.num_public_tests} must be below "
                f"num_tests={self.num_tests}: at least one test must stay hidden for the reward"
            )
        return self


MIXES_DIR = Path(__file__).resolve().parents[2] / "configs" / "mixes"


def load_named_mix(name: str) -> dict:
    """A mix from configs/mixes/<name>.yaml, or from a YAML file's path."""
    import yaml

    path = Path(name) if name.endswith((".yaml", ".yml")) else MIXES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in MIXES_DIR.glob("*.yaml"))
        raise ValueError(f"no mix named {name!r}; named mixes: {', '.join(known) or 'none'} "
                         "(or give a path to a YAML file)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path} cannot be read as YAML: {first}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping (families, apis, edge_share)")
    return {"name": path.stem, **data}


class MixConfig(Section):
    """Weights per family and API (a name not given weighs 1; 0 excludes) and the share
    of tasks that carry an edge case (unset: as often as the catalogue has them)."""

    name: str = Field("uniform", description="What the mix is called in reports.")
    families: dict[str, float] = Field(default_factory=dict, description="Weight per family.")
    apis: dict[str, float] = Field(
        default_factory=dict, description="Weight per API: builtin or a standard-library module.")
    edge_share: float | None = Field(
        None, ge=0, le=1, description="Share of tasks that start with an edge-case operation.")

    @model_validator(mode="after")
    def _known_names(self) -> MixConfig:
        self.to_mix()  # raises ValueError naming the unknown family or API and the known ones
        return self

    def to_mix(self):
        from zeroplay.corpus.mix import Mix

        return Mix(families=self.families, apis=self.apis, edge_share=self.edge_share)


class CurriculumConfig(Section):
    seed_tasks: int = Field(200, ge=0, description="Tasks the seed synthesizer writes at start.")
    heldout_tasks: int = Field(
        500, ge=0,
        description="Tasks in each held-out split, heldout-seen (combinations training uses, "
        "new constants) and heldout-unseen (combinations no training stream uses); fixed "
        "before training, for evaluation only.",
    )
    max_ops: int = Field(3, ge=1, description="Difficulty: max operations per seed task.")
    reference_k: int = Field(
        0, ge=0,
        description="Example tasks shown in each proposer prompt (and in the warm start's "
        "proposer rows). The tiny model proposes best without any "
        "(benchmarks/proposer_warmstart.py); instruction models use them to write something "
        "new.")
    learnability_window: int = Field(
        4, ge=1, description="Solve rates count attempts of the last W policy versions."
    )
    fresh_tasks_per_step: int = Field(
        0, ge=0,
        description="Fresh synthesizer tasks (never a held-out or stored program) validated "
        "and added to the training curriculum each step, and solved in that step beside "
        "the sampled ones: new constants for the solver to copy.",
    )
    solver_new_fraction: float = Field(
        0.5, ge=0, le=1, description="Share of solver tasks drawn from not-yet-attempted tasks."
    )
    max_statement_chars: int = Field(2000, ge=1, description="Longest accepted statement.")
    max_reference_chars: int = Field(4000, ge=1, description="Longest accepted reference.")
    content_filters: list[str] = Field(
        default_factory=list,
        description="Regexes; a proposal whose text matches one is rejected and counted.",
    )
    mix: MixConfig = Field(
        default_factory=lambda: MixConfig(),
        description="What the training streams are made of (seed curriculum, the warm "
        "start's tasks, fresh tasks per step): weights per family and API and a share of "
        "edge cases, or the name of a mix under configs/mixes/. Held-out splits never "
        "follow it. `zeroplay curriculum ops` lists the families and APIs.",
    )

    @field_validator("mix", mode="before")
    @classmethod
    def _named_mix(cls, value: Any) -> Any:
        return load_named_mix(value) if isinstance(value, str) else value


class TinyModelConfig(Section):
    """The from-scratch model for CPU runs and tests (nothing is downloaded)."""

    vocab_size: int = Field(2048, ge=256, description="BPE vocabulary trained on synthetic text.")
    hidden_size: int = Field(128, ge=16, description="Model width.")
    num_hidden_layers: int = Field(1, ge=1, description="Transformer layers.")
    num_attention_heads: int = Field(4, ge=1, description="Attention heads.")
    max_position_embeddings: int = Field(1024, ge=64, description="Longest sequence.")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> TinyModelConfig:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be a multiple of "
                f"num_attention_heads={self.num_attention_heads}"
            )
        return self


class PolicyConfig(Section):
    model: str = Field(
        "tiny",
        description="'tiny' (built from scratch, offline), a local path, or a hub id "
        "that is already in the local Hugging Face cache.",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "float32", description="Weights dtype; bfloat16 on GPUs."
    )
    device: str = Field("auto", description="'auto' (cuda if available), 'cpu' or 'cuda'.")
    follows_format: bool = Field(
        False,
        description="True if the model already writes the proposer/solver formats "
        "(instruction models): the SFT warm start is skipped.",
    )
    chat_template_fallback: bool = Field(
        True,
        description="If the tokenizer has no chat template, use zeroplay's ChatML template "
        "(False: refuse to load such a tokenizer).",
    )
    tiny: TinyModelConfig = Field(default_factory=TinyModelConfig)


class VLLMConfig(Section):
    """The vLLM engine of a rollout actor (rollout.backend: vllm)."""

    max_model_len: int | None = Field(
        None, ge=16, description="Longest prompt + completion the engine holds; None: "
        "rollout.max_prompt_tokens + rollout.max_new_tokens.")
    gpu_memory_utilization: float = Field(
        0.85, gt=0, le=1, description="Share of each GPU's memory the engine may take "
        "(weights, activations and the paged KV cache).")
    tensor_parallel_size: int = Field(
        1, ge=1, description="GPUs one engine shards the model over (ask for as many in "
        "cluster.rollout.num_gpus).")
    enforce_eager: bool | None = Field(
        None, description="Skip CUDA graphs; None: eager on CPU, graphs on GPUs.")
    cpu_kv_cache_gib: float = Field(
        1.0, gt=0, description="KV cache size on a CPU-only machine (VLLM_CPU_KVCACHE_SPACE, "
        "unless that is set).")


class RolloutConfig(Section):
    num_actors: int = Field(1, ge=1, description="Rollout actors (each holds a policy copy).")
    backend: Literal["hf", "vllm"] = Field(
        "hf", description="Generation backend: 'hf' (Hugging Face generate, any device) or "
        "'vllm' (a vLLM engine in each rollout actor: paged KV cache, continuous batching; "
        "needs vLLM installed where the rollout actors run, see the README)."
    )
    vllm: VLLMConfig = Field(default_factory=VLLMConfig)
    proposals_per_step: int = Field(4, ge=0, description="Proposer prompts per step.")
    solver_tasks_per_step: int = Field(
        4, ge=0, description="Tasks solved per step; with dynamic_sampling, the informative "
        "solver groups a step aims to hand the learner.")
    proposer_after_solve_rate: float = Field(
        0.3, ge=0, le=1,
        description="Propose only once the solver's solve rate on the previous step's "
        "training tasks reaches this (so the first step is solver-only); before that, steps "
        "are solver-only. 0: always propose.",
    )
    dynamic_sampling: bool = Field(
        True,
        description="Drop solver groups whose rewards are all equal (all pass or all fail: "
        "GRPO's advantage is 0 for every member) before the learner, and solve more tasks "
        "until solver_tasks_per_step groups are informative or max_sampling_rounds ran "
        "(DAPO's dynamic sampling); with learner.beta 0 also drop proposer groups whose "
        "rewards are all equal (no gradient at all). "
        "Dropped groups still count as attempts.",
    )
    max_sampling_rounds: int = Field(
        2, ge=1,
        description="Solver rounds per step with dynamic_sampling, the first included. A "
        "refill solves one task per missing group (at most solver_tasks_per_step), so a "
        "step's solver generation costs at most this many times that of one round.",
    )
    num_generations: int = Field(
        8, ge=2, description="Completions per prompt: the size of one GRPO group."
    )
    temperature: float = Field(
        1.0, ge=0,
        description="Sampling temperature. 0 decodes greedily, which only evaluation may do "
        "(`zeroplay eval --temperature 0`): a GRPO group of identical completions teaches "
        "the learner nothing, so a config that trains refuses it.",
    )
    proposer_temperature: float | None = Field(
        0.6, gt=0,
        description="Sampling temperature of proposer prompts (null: `temperature`). The "
        "tiny model's proposals are valid tasks most often at 0.6 "
        "(benchmarks/proposer_warmstart.py: 37% at 1.0, 58% at 0.6). The "
        "learner still trains the policy at `temperature`: the ratio against the proposer's "
        "behaviour log-probs, taken at this temperature, is an exact importance ratio between "
        "the two, clipped like that of any stale sample.",
    )
    top_p: float = Field(
        1.0, gt=0, le=1,
        description="Nucleus sampling mass. Training needs 1: the learner's importance ratio "
        "divides by the behaviour log-probs of the full tempered distribution, which top-p "
        "truncation would change; below 1 only evaluation may use it.",
    )
    max_new_tokens: int = Field(256, ge=1, description="Longest completion; longer is cut.")
    max_batch_rows: int = Field(
        64, ge=1,
        description="Most sequences one Hugging Face generate call decodes at once (whole "
        "prompts: at least num_generations); larger calls go through in chunks, so peak "
        "memory does not grow with the rows a step samples.",
    )
    max_prompt_tokens: int = Field(
        768, ge=16, description="Longest prompt; proposer prompts drop examples to fit.")
    format_penalty: float = Field(
        -1.0, le=0, description="Proposer reward for output that does not parse.")
    invalid_penalty: float = Field(
        -0.5, le=0, description="Proposer reward for a well-formed task that fails validation.")


class LoraConfig(Section):
    rank: int = Field(16, ge=1, description="Rank of each adapter (peft's r).")
    alpha: float = Field(32.0, gt=0, description="Scale numerator: updates are scaled by "
                         "alpha / rank (peft's lora_alpha).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the adapter's input.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        "all-linear", description="Modules that get adapters: names (q_proj, v_proj, ...) or "
        "all-linear (every linear layer but the output head).")


class LearnerConfig(Section):
    loss_type: LossType = Field(
        "dapo", description="TRL GRPO loss type."
    )
    beta: float = Field(0.0, ge=0, description="KL coefficient against the reference model.")
    epsilon: float = Field(0.2, gt=0, description="Lower clip range of the importance ratio.")
    epsilon_high: float | None = Field(
        0.28, description="Upper clip range; None uses epsilon (DAPO uses 0.28)."
    )
    delta: float | None = Field(
        None, gt=1,
        description="Two-sided clipping (TRL's delta, INTELLECT-2): the importance ratio of "
        "every token is capped at delta, so a negative-advantage token whose ratio grew large "
        "cannot dominate the loss. None: one-sided PPO clipping. Must exceed 1 + "
        "epsilon_high; applies to the grpo, dr_grpo, dapo, bnpo and luspo losses.",
    )
    scale_rewards: Literal["group", "batch", "none"] = Field(
        "group", description="How advantages are scaled (TRL's scale_rewards)."
    )
    precision: Literal["mixed", "pure"] = Field(
        "mixed",
        description="mixed: the learner keeps fp32 master weights and optimizer states and "
        "computes in policy.dtype under autocast on GPUs (all fp32 on CPU); rollout actors "
        "get the weights cast to policy.dtype. pure: weights and optimizer states in "
        "policy.dtype, half the memory, but a bf16 weight cannot take an update below its "
        "resolution (at lr 1e-6 most of them).",
    )
    gradient_checkpointing: bool = Field(
        False,
        description="Recompute activations in the backward pass (TRL's default is on): "
        "memory for compute, which long sequences of large models need on GPUs; the tiny "
        "model on CPU only pays the recomputation. Applies to the warm start too.",
    )
    lora: LoraConfig | None = Field(
        None,
        description="Train low-rank adapters (peft) instead of every weight, warm start "
        "included: optimizer states for the adapters only. Rollout actors get the base "
        "weights with the adapters merged in, and checkpoints hold that merged model "
        "(loadable by plain transformers) with the adapter in adapter/. None: full "
        "training. Not with learner.beta > 0.",
    )
    learning_rate: float = Field(5e-5, gt=0, description="GRPO learning rate.")
    per_device_train_batch_size: int = Field(8, ge=1, description="Samples per device step.")
    gradient_accumulation_steps: int = Field(
        4, ge=1,
        description="Micro-steps per update. batch x accumulation rows make one optimizer "
        "step and must be a multiple of rollout.num_generations (whole GRPO groups); about "
        "one round's samples keeps staleness low.",
    )
    max_staleness: int = Field(
        3, ge=0,
        description="Drop samples more than this many policy versions old. Cover one "
        "round of overlap: a round's optimizer steps / sync_every, plus one.",
    )
    sync_every: int = Field(1, ge=1, description="Publish weights every N optimizer steps.")
    weight_sync: Literal["object_store", "collective"] = Field(
        "object_store",
        description="How published weights reach the rollout actors: each pulls them from "
        "Ray's object store, or the learner broadcasts them in buckets over a gloo group "
        "of its own with every rollout actor (zeroplay.actors.weights). Either way the "
        "WeightStore keeps the newest for actors that restart.",
    )
    checkpoint_every: int = Field(10, ge=1, description="Checkpoint every N self-play steps.")
    max_restarts: int = Field(
        2, ge=0,
        description="Times a learner actor that dies (a crash, a lost node) is restarted "
        "from the newest checkpoint, in run.storage when set; the round it was training on "
        "is lost. 0, or no checkpoint yet: the run stops, naming the checkpoint to resume "
        "from. A training error (an exception in TRL) is never retried.",
    )
    keep_checkpoints: int = Field(3, ge=1, description="Checkpoints kept on disk.")
    warm_start_steps: int = Field(
        1400, ge=0, description="SFT steps on synthetic tasks before self-play (0: none)."
    )
    warm_start_learning_rate: float = Field(
        3e-3, gt=0, description="Peak SFT learning rate (cosine schedule, 5% warm-up).")
    warm_start_batch_size: int = Field(16, ge=1, description="SFT rows per step.")
    warm_start_tasks: int = Field(
        3400, ge=0,
        description="Fresh synthesizer tasks (validated in the sandbox, never a held-out "
        "program) streamed into the warm start beside the seed curriculum. Steps x batch "
        "size over the rows they make is the number of epochs (by default about 6).",
    )
    warm_start_tests: int = Field(
        8, ge=2,
        description="Inputs drawn when validating a fresh warm-start task (sandbox.num_tests "
        "for curriculum tasks): enough to choose its prompt's public examples and to check "
        "it runs, is deterministic and not trivial; its tests judge nothing, and drawing "
        "inputs on the host is most of what validation costs.",
    )
    warm_start_proposer_share: float = Field(
        0.0, ge=0, le=1,
        description="Share of warm-start tasks also shown as a proposer answer (with as "
        "many of curriculum.reference_k examples as fit rollout.max_prompt_tokens, as "
        "rollouts show); every task is a solver row. A proposer row is about 3.5x as long "
        "as a solver row, so 0.1 more than doubles a step's time on the tiny model; without "
        "proposer rows a tiny proposer cannot write the format when it joins.",
    )
    warm_start_proposer_steps: int = Field(
        900, ge=0,
        description="SFT steps of a proposer phase after the warm start: every warm-start "
        "task as a proposer answer (its prompt showing curriculum.reference_k examples), "
        "mixed one to one with solver rows so the solver is not forgotten "
        "(benchmarks/proposer_warmstart.py measured the choice). 0: none, and a tiny "
        "proposer cannot write the format when it joins.",
    )
    reference_sft: bool = Field(
        False,
        description="Beside GRPO, one supervised step per round on the references of the "
        "policy's new valid tasks of that round, as solver answers "
        "(zeroplay.learner.reference_sft): the sandbox ran each reference, so it solves its "
        "task as validated.",
    )
    reference_sft_learning_rate: float = Field(
        3e-4, gt=0, description="Learning rate of those supervised steps.")

    @model_validator(mode="after")
    def _clip_range_ordered(self) -> LearnerConfig:
        if self.epsilon_high is not None and self.epsilon_high < self.epsilon:
            raise ValueError(
                f"epsilon_high={self.epsilon_high} must be >= epsilon={self.epsilon}"
            )
        high = self.epsilon if self.epsilon_high is None else self.epsilon_high
        if self.delta is not None and self.delta <= 1 + high:
            raise ValueError(
                f"delta={self.delta:g} must exceed 1 + epsilon_high = {1 + high:g}, or the cap "
                f"cuts into the clip range; set learner.delta above {1 + high:g} (e.g. "
                f"{1 + high + 1:g}) or to null")
        if self.delta is not None and self.loss_type not in TWO_SIDED_LOSSES:
            raise ValueError(
                f"delta={self.delta:g} has no effect with loss_type={self.loss_type!r} (TRL "
                f"caps the ratio only for {', '.join(TWO_SIDED_LOSSES)}); set learner.delta "
                f"to null or pick one of those losses")
        return self
