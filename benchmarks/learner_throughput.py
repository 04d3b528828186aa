"""Learner throughput of the tiny model on CPU: GRPO samples/s and tokens/s, and a publish.

    .venv/bin/python benchmarks/learner_throughput.py [--steps 10] [--set KEY=VALUE ...]

Measured in one run: GRPO optimizer steps through TRL (behaviour-log-prob ratio, groups
fed through `rollout_func`), as samples and completion tokens per second, the time of
one weight publish (state dict copied to CPU and put into the Ray object store), and a
whole publish to a rollout actor made while it is inside a long generate call, against
the length of that call.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from zeroplay.actors.generation import HFGenerator, SamplingParams
from zeroplay.actors.policy import load_policy
from zeroplay.config import load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    cfg = load_config(None, ["rollout.max_new_tokens=64", "learner.gradient_accumulation_steps=1",
                             "run.overlap=false",  # groups are fed by hand
                             *args.set])
    g, batch = cfg.rollout.num_generations, cfg.learner.per_device_train_batch_size
    cache_dir = Path(tempfile.mkdtemp())
    model, tok = load_policy(cfg.policy, cache_dir=cache_dir, seed=cfg.run.seed)
    outs = HFGenerator(model, tok, seed=0).generate(
        ["def f(xs):"] * (batch // g), g,
        SamplingParams(max_new_tokens=cfg.rollout.max_new_tokens))
    groups = [[RolloutSample("solver", str(i // g), o.prompt_ids, o.completion_ids, o.logprobs,
                             float(i % 2), 0, 0, None, o.finish_reason, "")
               for i, o in enumerate(outs[k:k + g], start=k)] for k in range(0, len(outs), g)]
    feed = SampleFeed(g, max_staleness=10**6)
    feed.put(groups * (args.steps + 1))
    trainer = build_grpo_trainer(model, tok, cfg, feed, tempfile.mkdtemp(),
                                 max_steps=args.steps + 1)
    timings: list[float] = []

    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            self.start = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            timings.append(time.perf_counter() - self.start)

    trainer.add_callback(Clock())
    trainer.train()
    steady = timings[1:]  # the first step pays one-off set-up
    per_step = sum(steady) / len(steady)
    tokens = sum(len(s.completion_ids) for grp in groups for s in grp)
    print(f"GRPO, batch {batch} ({batch // g} groups of {g}), {cfg.rollout.max_new_tokens} "
          f"new tokens: {per_step * 1000:.0f} ms/step, {batch / per_step:.1f} samples/s, "
          f"{tokens / per_step:.0f} completion tokens/s")

    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            ref = ray.put(state)
            times.append(time.perf_counter() - start)
            del ref, state
        print(f"one weight publish (copy to CPU + ray.put): {sorted(times)[2] * 1000:.1f} ms")
        publish_during_generate(cfg, cache_dir, model)
    finally:
        ray.shutdown()


def publish_during_generate(cfg, cache_dir: Path, model) -> None:
    """A whole publish (object store, WeightStore, the actor staging it) made while a
    rollout actor is inside a long generate call, against the length of that call: what a
    publish would wait for if the actor took weights between calls only."""
    import ray

    from zeroplay.actors.group import make_actor
    from zeroplay.actors.ray_actors import RolloutActor, WeightStore, publish_weights
    from zeroplay.config import ResourceSpec
    from zeroplay.learner.checkpoint import cpu_weights

    long_cfg = cfg.model_copy(update={"rollout": cfg.rollout.model_copy(
        update={"max_new_tokens": 256})})
    store = ray.remote(WeightStore).options(name="weights-bench").remote()
    actor = make_actor(RolloutActor, ResourceSpec(num_cpus=0), "rollout-bench").remote(
        long_cfg.model_dump(mode="json"), "weights-bench", str(cache_dir))
    ray.get(actor.version.remote())
    messages = [[{"role": "user", "content": f"def f{i}(xs):"}] for i in range(64)]
    began = time.perf_counter()
    busy = actor.generate.remote(messages, 8, "solver")
    time.sleep(0.5)  # inside the call
    start = time.perf_counter()
    publish_weights("weights-bench", ["rollout-bench"], 1, cpu_weights(model))
    publish = time.perf_counter() - start
    served = ray.get(busy)[0].policy_version
    call = time.perf_counter() - began
    live = ray.get(actor.version.remote())
    print(f"a publish during a {call:.1f} s generate call returned in {publish * 1000:.0f} ms "
          f"(the call finished on version {served}; the next serves version {live})")
    ray.kill(actor)
    ray.kill(store)


if __name__ == "__main__":
    main()
