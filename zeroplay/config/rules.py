"""Rules that tie values of different sections together, checked at once on the whole config.

    problem = check_staleness(cfg)       # None, or (dotted keys read, main one first; message)

Each check returns None or a problem whose message quotes the values and names the fix, as
TRL's GRPOConfig.__post_init__ does. `Config` (schema.py) runs DEPENDENT_CHECKS always and
TRAINING_CHECKS unless it only generates (GENERATION_ONLY). What fails here would otherwise
fail late, e.g. in the learner actor after the curriculum was seeded.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zeroplay.config.schema import Config

DEPENDENT = "dependent_values"
Problem = tuple[tuple[str, ...], str]


def get_value(cfg: Config, key: str) -> Any:
    """The value at a dotted key, e.g. "rollout.temperature"."""
    node: Any = cfg
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _check_engine_length(cfg: Config) -> Problem | None:
    r, length = cfg.rollout, cfg.rollout.vllm.max_model_len
    if length is None or r.max_prompt_tokens + r.max_new_tokens <= length:
        return None
    return (("rollout.vllm.max_model_len", "rollout.max_prompt_tokens", "rollout.max_new_tokens"),
            positions_error(r.max_prompt_tokens, r.max_new_tokens, length,
                            f"rollout.vllm.max_model_len={length}",
                            ", or raise rollout.vllm.max_model_len (null: their sum)"))


def _check_round_has_work(cfg: Config) -> Problem | None:
    r = cfg.rollout
    if r.proposals_per_step + r.solver_tasks_per_step > 0:
        return None
    return (("rollout.proposals_per_step", "rollout.solver_tasks_per_step"),
            "rollout.proposals_per_step=0 and rollout.solver_tasks_per_step=0: a round "
            "would generate nothing to learn from; set one of them to 1 or more")


def _check_batch_holds_groups(cfg: Config) -> Problem | None:
    # TRL's GRPOConfig: generation_batch_size = per_device_train_batch_size x processes
    # x steps_per_generation (= gradient_accumulation_steps) must be a multiple of
    # num_generations; each learner worker's part, batch x accumulation, must be too, so
    # that every worker trains whole groups.
    lc, g = cfg.learner, cfg.rollout.num_generations
    batch, accum = lc.per_device_train_batch_size, lc.gradient_accumulation_steps
    if (batch * accum) % g == 0:
        return None
    # The nearest larger values that fit: each must be a multiple of what the other
    # leaves of num_generations.
    fix_accum = _round_up(accum, g // math.gcd(batch, g))
    fix_batch = _round_up(batch, g // math.gcd(accum, g))
    return (("learner.per_device_train_batch_size", "learner.gradient_accumulation_steps",
             "rollout.num_generations"),
            f"learner.per_device_train_batch_size x learner.gradient_accumulation_steps = "
            f"{batch} x {accum} = {batch * accum} rows per optimizer step and learner "
            f"worker is not a multiple of rollout.num_generations={g}: TRL's GRPO trains on "
            f"whole groups of num_generations completions; set learner.gradient_accumulation_steps="
            f"{fix_accum} or learner.per_device_train_batch_size={fix_batch}")


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def positions_error(prompt_tokens: int, new_tokens: int, positions: int, where: str,
                    fix: str = "") -> str:
    """Why a prompt and its completion do not fit the model's positions, and the fix.

    >>> positions_error(768, 512, 1024, "policy.tiny.max_position_embeddings=1024")[:60]
    'rollout.max_prompt_tokens + rollout.max_new_tokens = 768 + 5'
    """
    return (f"rollout.max_prompt_tokens + rollout.max_new_tokens = {prompt_tokens} + "
            f"{new_tokens} = {prompt_tokens + new_tokens} tokens do not fit the model's "
            f"{positions} positions ({where}); lower rollout.max_prompt_tokens or "
            f"rollout.max_new_tokens{fix}")


def _check_tiny_positions(cfg: Config) -> Problem | None:
    # A real model's positions are known once its config is read: actors/policy.py
    # checks those with the same message when it loads the policy.
    r, positions = cfg.rollout, cfg.policy.tiny.max_position_embeddings
    if cfg.policy.model != "tiny" or r.max_prompt_tokens + r.max_new_tokens <= positions:
        return None
    return (("rollout.max_prompt_tokens", "rollout.max_new_tokens",
             "policy.tiny.max_position_embeddings"),
            positions_error(r.max_prompt_tokens, r.max_new_tokens, positions,
                            f"policy.tiny.max_position_embeddings={positions}",
                            ", or raise policy.tiny.max_position_embeddings"))


def _check_staleness(cfg: Config) -> Problem | None:
    # With run.overlap the actors generate round t+1 while the learner still finishes
    # round t-1's last optimizer step and then trains round t: when round t+1 reaches
    # the learner, up to ceil(round's steps / sync_every) + 1 versions were published
    # since it was generated. A smaller max_staleness drops those rounds.
    if not cfg.run.overlap:
        return None
    r, lc = cfg.rollout, cfg.learner
    groups = r.proposals_per_step + r.solver_tasks_per_step
    rows, step_rows = groups * r.num_generations, lc.per_device_train_batch_size * \
        lc.gradient_accumulation_steps * cfg.cluster.learner.num_workers
    steps = Fraction(rows, step_rows)
    need = math.ceil(steps / lc.sync_every) + 1
    if lc.max_staleness >= need:
        return None
    fixes = [f"set learner.max_staleness={need}"]
    if lc.max_staleness >= 2:
        fixes.append(f"learner.sync_every={math.ceil(steps / (lc.max_staleness - 1))}")
    return (("learner.max_staleness", "learner.sync_every", "run.overlap",
             "learner.per_device_train_batch_size", "learner.gradient_accumulation_steps",
             "rollout.proposals_per_step", "rollout.solver_tasks_per_step",
             "rollout.num_generations"),
            f"learner.max_staleness={lc.max_staleness} cannot hold an overlapped round's "
            f"samples: a round is ({r.proposals_per_step} + {r.solver_tasks_per_step}) x "
            f"{r.num_generations} = {rows} rows = {_num(steps)} optimizer step(s) of "
            f"{step_rows} rows, with weights published every learner.sync_every="
            f"{lc.sync_every} step(s), so the next round is up to ceil({_num(steps)} / "
            f"{lc.sync_every}) + 1 = {need} versions old when trained; "
            f"{', or '.join(fixes)}, or set run.overlap=false")


def _num(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):.3g}"


def _check_not_greedy(cfg: Config) -> Problem | None:
    # Greedy decoding makes every completion of a group the same: all advantages are 0.
    # TRL's GRPO also divides the logits by this temperature.
    r = cfg.rollout
    if r.temperature > 0:
        return None
    return (("rollout.temperature", "rollout.num_generations"),
            f"rollout.temperature={r.temperature:g} decodes greedily: the "
            f"rollout.num_generations={r.num_generations} completions of every GRPO group "
            "would be identical and the learner would get no signal from them; set "
            "rollout.temperature above 0, e.g. 1.0 (greedy decoding is for evaluation: "
            "zeroplay eval MODEL --temperature 0)")


def _check_full_nucleus(cfg: Config) -> Problem | None:
    # The behaviour log-probs are log_softmax(logits / T) of the full distribution, the
    # quantity TRL's loss computes for the learner; under top-p the tokens were drawn
    # from a renormalized nucleus, so the ratio against them would be off by its mass.
    top_p = cfg.rollout.top_p
    if top_p >= 1:
        return None
    return (("rollout.top_p",),
            f"rollout.top_p={top_p:g} samples from a truncated nucleus, but the GRPO "
            "importance ratio is taken against log-probs of the full tempered distribution, "
            "so every ratio would be off by the nucleus' mass and clipping would act on that "
            "error; set rollout.top_p=1 for training (evaluation may use top-p)")


def _check_lora_without_kl(cfg: Config) -> Problem | None:
    lc = cfg.learner
    if lc.lora is None or lc.beta == 0:
        return None
    return (("learner.lora", "learner.beta"),
            f"learner.lora with learner.beta={lc.beta:g}: the KL reference is the policy as "
            "GRPO began, saved whole, which an adapter run does not keep; set learner.beta=0 "
            "or learner.lora=null")


def _check_learner_group(cfg: Config) -> Problem | None:
    workers, lc = cfg.cluster.learner.num_workers, cfg.learner
    if workers == 1:
        return None
    if lc.lora is not None:
        return (("cluster.learner.num_workers", "learner.lora"),
                f"cluster.learner.num_workers={workers} with learner.lora: adapters are "
                "trained by one learner worker only; set cluster.learner.num_workers=1 or "
                "learner.lora=null")
    if lc.beta > 0:
        return (("cluster.learner.num_workers", "learner.beta"),
                f"cluster.learner.num_workers={workers} with learner.beta={lc.beta:g}: a "
                "learner group does not keep a KL reference yet; set learner.beta=0 or "
                "cluster.learner.num_workers=1")
    return None


DEPENDENT_CHECKS = (_check_engine_length, _check_lora_without_kl, _check_learner_group,
                     _check_round_has_work,
                     _check_batch_holds_groups, _check_tiny_positions, _check_staleness)
# skipped under GENERATION_ONLY
TRAINING_CHECKS = (_check_not_greedy, _check_full_nucleus)
