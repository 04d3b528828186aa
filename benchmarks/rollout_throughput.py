"""Rollout throughput of the tiny model on CPU: tokens/s by batch size, and weight updates.

    .venv/bin/python benchmarks/rollout_throughput.py [--new-tokens 64] [--set KEY=VALUE ...]

Measured side by side in one run: generated tokens per second (with behaviour log-probs)
for batch sizes 1, 8 and 32, and the cost of one weight update, both in-process
(`load_state_dict`) and through Ray (`ray.put` + a RolloutActor's `update_weights`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from zeroplay.actors.generation import HFGenerator, SamplingParams
from zeroplay.actors.policy import load_policy
from zeroplay.actors.prompts import prompt_text, solver_messages
from zeroplay.config import load_config
from zeroplay.curricula.synth import synthesize
from zeroplay.curricula.task import Task
from zeroplay.handoff import TestCase, Validation


def prompts_for(tokenizer, n: int) -> list[str]:
    out = []
    for draft in synthesize(n, seed=3):
        task = Task.from_validation(draft, Validation(True, tests=[TestCase([["i", 1]], ["i", 2],
                                                                             public=True)]))
        out.append(prompt_text(tokenizer, solver_messages(task)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    cfg = load_config(None, args.set)
    cache = Path(tempfile.mkdtemp(prefix="zeroplay-bench-"))
    model, tok = load_policy(cfg.policy, cache_dir=cache, seed=cfg.run.seed)
    params = SamplingParams(max_new_tokens=args.new_tokens, max_prompt_tokens=4096)
    gen = HFGenerator(model, tok, seed=0)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tiny model: {n_params / 1e6:.2f}M parameters, vocab {len(tok)}, "
          f"{args.new_tokens} new tokens per completion")
    base = None
    for batch in (1, 8, 32):
        prompts = prompts_for(tok, batch)
        gen.generate(prompts[:1], 1, SamplingParams(max_new_tokens=4))  # warm up
        start = time.perf_counter()
        outs = gen.generate(prompts, 1, params)
        seconds = time.perf_counter() - start
        tokens = sum(len(o.completion_ids) for o in outs)
        rate = tokens / seconds
        base = base or rate
        print(f"batch {batch:3d}: {rate:8.1f} tokens/s  ({rate / base:.1f}x batch 1)")

    state = {k: v.clone() for k, v in model.state_dict().items()}
    start = time.perf_counter()
    for _ in range(10):
        gen.load_state_dict(state, gen.version + 1)
    local = (time.perf_counter() - start) / 10

    import ray

    from zeroplay.actors.group import make_actor
    from zeroplay.actors.ray_actors import RolloutActor, WeightStore

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        store = ray.remote(WeightStore).options(name="weights-bench").remote()
        actor = make_actor(RolloutActor, cfg.cluster.rollout, "rollout-bench").remote(
            cfg.model_dump(mode="json"), "weights-bench", str(cache))
        ray.get(actor.version.remote())
        times = []
        for version in range(1, 6):
            start = time.perf_counter()
            box = [ray.put(state)]
            ray.get(store.publish.remote(version, box))
            ray.get(actor.update_weights.remote(version, box))
            times.append(time.perf_counter() - start)
            del box
        remote = sorted(times)[len(times) // 2]
    finally:
        ray.shutdown()
    size = sum(v.numel() * v.element_size() for v in state.values()) / 2**20
    print(f"weight update ({size:.1f} MiB): in-process {local * 1000:.1f} ms, "
          f"through Ray (put + publish + actor load) {remote * 1000:.1f} ms "
          f"({remote / local:.1f}x)")


if __name__ == "__main__":
    main()
