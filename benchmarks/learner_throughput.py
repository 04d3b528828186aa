"""Learner throughput of the tiny model on CPU: GRPO samples/s and tokens/s, and a publish.

    .venv/bin/python benchmarks/learner_throughput.py [--steps 10] [--workers 1 2]
        [--set KEY=VALUE ...]

Measured in one run: GRPO optimizer steps through TRL (behaviour-log-prob ratio, groups
fed through `rollout_func`), as samples and completion tokens per second; the same steps
on learner groups of each `--workers` size (Ray actors, FSDP2 over gloo, the same global
batch split over the workers), side by side; a whole publish of a tiny model with Qwen2's
151,936-token vocabulary to two rollout actors through the object store and through the
collective (`learner.weight_sync`); and a publish to a rollout actor made while it is
inside a long generate call, against the length of that call. On one machine the object
store's "transfer" is a shared-memory read, and gloo runs over loopback: what a
collective saves across nodes (each actor pulling its own copy over the network from
the learner's node) does not show here.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

from common import write_result

from zeroplay.actors.generation import HFGenerator
from zeroplay.actors.policy import load_policy
from zeroplay.actors.sampling import SamplingParams
from zeroplay.config import load_config
from zeroplay.handoff import RolloutSample
from zeroplay.learner.grpo import SampleFeed, build_grpo_trainer

QWEN2_VOCAB = 151_936


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="learner group sizes to compare")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    cfg = load_config(None, ["rollout.max_new_tokens=64", "learner.gradient_accumulation_steps=1",
                             "learner.per_device_train_batch_size=16",  # 2 groups: 1 a worker
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

    ray.init(num_cpus=max(args.workers) + 2, include_dashboard=False, log_to_driver=False)
    try:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            ref = ray.put(state)
            times.append(time.perf_counter() - start)
            del ref, state
        print(f"one weight publish (copy to CPU + ray.put): {sorted(times)[2] * 1000:.1f} ms")
        rates = {n: group_throughput(cfg, cache_dir, groups, n, args.steps)
                 for n in args.workers}
        print("learner workers:  " + "  ".join(f"{n}: {r:.1f} samples/s"
                                               for n, r in rates.items())
              + f"  (ratio {rates[max(rates)] / rates[min(rates)]:.2f})")
        write_result("learner_throughput", Path("runs/bench-learner"), {
            "ms_per_grpo_step": per_step * 1000, "samples_per_s": batch / per_step,
            "publish_ms": sorted(times)[2] * 1000, "workers_samples_per_s": rates})
        publish_paths(model, tok)
        publish_during_generate(cfg, cache_dir, model)
    finally:
        ray.shutdown()


def group_throughput(cfg, cache_dir: Path, groups, workers: int, steps: int) -> float:
    """Samples/s of `steps` optimizer steps on a learner group of `workers` Ray actors
    (after one warm-up step), each taking 1/workers of the same global batch."""
    import ray

    from zeroplay.actors.group import make_actor
    from zeroplay.actors.weights import WeightStore
    from zeroplay.learner.actor import LearnerActor

    batch = cfg.learner.per_device_train_batch_size
    group_cfg = cfg.model_copy(deep=True)
    group_cfg.learner.per_device_train_batch_size = batch // workers
    group_cfg.learner.max_staleness = 10**6
    group_cfg.cluster.learner.num_workers = workers
    group_cfg.cluster.learner.num_cpus = 1
    name = f"weights-workers-{workers}"
    store = ray.remote(WeightStore).options(name=name).remote()
    learners = [make_actor(LearnerActor, group_cfg.cluster.learner, f"learner-{name}-{rank}",
                           restarts=0).remote(group_cfg.model_dump(mode="json"), name, [],
                                              tempfile.mkdtemp(), str(cache_dir), None, rank)
                for rank in range(workers)]
    master = ray.get(learners[0].address.remote()) if workers > 1 else None
    ray.get([learner.start.remote(master) for learner in learners])
    ray.get(learners[0].submit.remote(groups * (steps + 1)))
    ray.get(learners[0].wait_for_step.remote(1, 600))
    start = time.perf_counter()
    status = ray.get(learners[0].wait_for_step.remote(steps + 1, 1800))
    seconds = time.perf_counter() - start
    assert status.error is None and status.step == steps + 1, status
    for actor in [*learners, store]:
        ray.kill(actor)
    return steps * batch / seconds


def publish_paths(model, tok, actors: int = 2, repeats: int = 5) -> None:
    """A whole publish (until every rollout actor has the version staged) of the tiny
    model grown to Qwen2's vocabulary, through the object store and the collective."""
    import ray

    from zeroplay.actors.group import make_actor
    from zeroplay.actors.ray_actors import RolloutActor
    from zeroplay.actors.weights import CollectivePublisher, WeightStore, publish_weights
    from zeroplay.config import ResourceSpec
    from zeroplay.learner.checkpoint import cpu_weights

    big = copy.deepcopy(model)
    big.resize_token_embeddings(QWEN2_VOCAB)
    path = Path(tempfile.mkdtemp()) / "tiny-qwen2-vocab"
    big.save_pretrained(path)
    tok.save_pretrained(path)
    cfg = load_config(None, [f"policy.model={path}"])
    names = [f"rollout-publish-{i}" for i in range(actors)]
    store = ray.remote(WeightStore).options(name="weights-publish").remote()
    rollouts = [make_actor(RolloutActor, ResourceSpec(num_cpus=0), name).remote(
        cfg.model_dump(mode="json"), "weights-publish") for name in names]
    ray.get([r.version.remote() for r in rollouts])
    state = cpu_weights(big)
    megabytes = sum(v.numel() * v.element_size() for v in state.values()) / 2**20
    collective = CollectivePublisher("weights-publish", names)
    paths = {"object store": lambda v: publish_weights("weights-publish", names, v, state),
             "collective": lambda v: collective.publish(v, state)}
    version, times = 0, {}
    for path_name, publish in paths.items():
        times[path_name] = []
        for _ in range(repeats + 1):  # the first collective publish forms the group
            version += 1
            start = time.perf_counter()
            publish(version)
            times[path_name].append(time.perf_counter() - start)
    assert ray.get([r.version.remote() for r in rollouts]) == [version] * actors
    medians = {k: sorted(v[1:])[len(v[1:]) // 2] for k, v in times.items()}
    print(f"publish of {megabytes:.0f} MB (vocabulary {QWEN2_VOCAB:,}) to {actors} rollout "
          f"actors, median of {repeats}: "
          + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in medians.items())
          + f" (ratio {medians['collective'] / medians['object store']:.2f}; forming the "
          f"group: {times['collective'][0] * 1000:.0f} ms with the first publish)")
    for actor in [*rollouts, store]:
        ray.kill(actor)


def publish_during_generate(cfg, cache_dir: Path, model) -> None:
    """A whole publish (object store, WeightStore, the actor staging it) made while a
    rollout actor is inside a long generate call, against the length of that call: what a
    publish would wait for if the actor took weights between calls only."""
    import ray

    from zeroplay.actors.group import make_actor
    from zeroplay.actors.ray_actors import RolloutActor
    from zeroplay.actors.weights import WeightStore, publish_weights
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
