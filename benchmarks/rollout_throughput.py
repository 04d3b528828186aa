"""Rollout throughput per generation backend: tokens/s, peak memory and weight updates.

    .venv/bin/python benchmarks/rollout_throughput.py [--backend hf vllm] [--new-tokens 64]
        [--sequences 8 128] [--threads 2] [--ld-preload LIBS] [--set KEY=VALUE ...]

The same solver prompts (n = 4 samples each, as rollouts sample) go through each
backend, for the tiny model and for the same shape with a 151,936-token vocabulary
(Qwen2's, where the full-vocabulary logits dominate memory). Each (model, backend)
runs in a fresh child process with the same threads (vLLM pins the threads of the
process hosting its engine), one after another in one invocation, so the printed
vLLM/HF ratios are measured side by side. Per child: engine load seconds, generated
tokens/s per batch (each timed call follows an untimed one of the same batch: first
calls of a shape are slow), the growth of the peak resident memory from the end of the
first untimed call, and the time of one in-process weight update (`load_state_dict`). The
random models rarely stop early, so nearly every completion has --new-tokens tokens.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_result

BIG_VOCAB = 151_936
SAMPLES_PER_PROMPT = 4


def prompts_for(tokenizer, n: int) -> list[str]:
    """Solver prompts of `n` synthesizer tasks (one public example each)."""
    from zeroplay.actors.prompts import prompt_text, solver_messages
    from zeroplay.curricula.synth import synthesize
    from zeroplay.curricula.task import Task
    from zeroplay.handoff import TestCase, Validation

    out = []
    for draft in synthesize(n, seed=3):
        task = Task.from_validation(draft, Validation(True, tests=[TestCase([["i", 1]], ["i", 2],
                                                                             public=True)]))
        out.append(prompt_text(tokenizer, solver_messages(task)))
    return out


def big_vocab_model(tiny_dir: str, out: Path) -> str:
    """The tiny model's shape and tokenizer with a 151,936-token vocabulary, random."""
    import shutil

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_dir)
    config.vocab_size = BIG_VOCAB
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(out)
    for name in os.listdir(tiny_dir):
        if name.startswith(("tokenizer", "chat_template", "generation_config")):
            shutil.copy(Path(tiny_dir) / name, out / name)
    return str(out)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(backend: str, model_dir: str, new_tokens: int, sequences: list[int],
          overrides: list[str]) -> dict:
    """One backend on one model, in this (fresh) process."""
    from zeroplay.actors.generation import make_generator
    from zeroplay.actors.sampling import SamplingParams
    from zeroplay.config import load_config

    cfg = load_config(None, [f"policy.model={model_dir}", f"rollout.backend={backend}",
                             *overrides])
    start = time.perf_counter()
    gen = make_generator(cfg, seed=0)
    result = {"load_s": time.perf_counter() - start, "batches": {}}
    params = SamplingParams(max_new_tokens=new_tokens, max_prompt_tokens=4096)
    prompts = prompts_for(gen.tokenizer, max(sequences) // SAMPLES_PER_PROMPT)
    before = None
    for rows in sequences:
        batch = prompts[:max(1, rows // SAMPLES_PER_PROMPT)]
        gen.generate(batch, SAMPLES_PER_PROMPT, params)  # a first call of a shape is slow
        before = before or peak_rss_mib()
        start = time.perf_counter()
        outs = gen.generate(batch, SAMPLES_PER_PROMPT, params)
        seconds = time.perf_counter() - start
        tokens = sum(len(o.completion_ids) for o in outs)
        result["batches"][str(len(outs))] = {"tokens": tokens, "seconds": seconds,
                                             "tokens_per_s": tokens / seconds}
    result["peak_rss_mib"] = peak_rss_mib()
    result["peak_growth_mib"] = result["peak_rss_mib"] - before
    from transformers import AutoModelForCausalLM

    state = AutoModelForCausalLM.from_pretrained(model_dir).state_dict()
    start = time.perf_counter()
    gen.load_state_dict(state, gen.version + 1)
    result["update_ms"] = (time.perf_counter() - start) * 1000
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", nargs="+", choices=["hf", "vllm"], default=["hf", "vllm"])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--sequences", type=int, nargs="+", default=[8, 128],
                        help=f"sequences per generate call ({SAMPLES_PER_PROMPT} per prompt)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--ld-preload", default="", metavar="LIBS",
                        help="LD_PRELOAD for every child, e.g. tcmalloc and Intel OpenMP, "
                             "as vLLM's CPU guide recommends (default: none)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "MODEL_DIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.new_tokens, args.sequences, args.set)))
        return

    from zeroplay.actors.policy import policy_source
    from zeroplay.config import load_config

    cfg = load_config(None, args.set)
    if cfg.policy.model != "tiny":
        parser.error("this benchmark builds its models from the tiny one; leave policy.model")
    scratch = Path(tempfile.mkdtemp(prefix="zeroplay-bench-"))
    tiny = policy_source(cfg.policy, scratch, cfg.run.seed)
    models = {"tiny": tiny, f"tiny, vocab {BIG_VOCAB:,}": big_vocab_model(tiny, scratch / "big")}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1"}
    if args.ld_preload:
        env["LD_PRELOAD"] = args.ld_preload
    results: dict[str, dict[str, dict]] = {}
    for model, model_dir in models.items():
        for backend in args.backend:
            print(f"{model}: {backend} ...", file=sys.stderr, flush=True)
            done = subprocess.run(
                [sys.executable, __file__, "--child", backend, model_dir, "--new-tokens",
                 str(args.new_tokens), "--sequences", *map(str, args.sequences),
                 *[a for kv in args.set for a in ("--set", kv)]],
                capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise SystemExit(f"{backend} on {model} failed:\n{done.stderr[-3000:]}")
            results.setdefault(model, {})[backend] = json.loads(done.stdout.splitlines()[-1])

    print(f"\n{args.threads} threads, {args.new_tokens} new tokens, {SAMPLES_PER_PROMPT} samples "
          f"per prompt, LD_PRELOAD={args.ld_preload or '(none)'}")
    print(f"{'model':22}{'backend':8}{'load s':>8}" + "".join(
        f"{f'tok/s @{n}':>13}" for n in args.sequences) + f"{'peak MiB':>10}{'growth':>8}"
          f"{'update ms':>11}")
    for model, by_backend in results.items():
        for backend, r in by_backend.items():
            print(f"{model:22}{backend:8}{r['load_s']:>8.1f}" + "".join(
                f"{b['tokens_per_s']:>13.0f}" for b in r["batches"].values())
                + f"{r['peak_rss_mib']:>10.0f}{r['peak_growth_mib']:>8.0f}"
                f"{r['update_ms']:>11.1f}")
        if {"hf", "vllm"} <= by_backend.keys():
            hf, vllm = by_backend["hf"]["batches"], by_backend["vllm"]["batches"]
            print(f"{'':22}vLLM/HF tokens/s: " + ", ".join(
                f"{vllm[n]['tokens_per_s'] / hf[n]['tokens_per_s']:.2f}x at {n}" for n in hf))
    out = write_result("rollout_throughput", scratch, {
        "threads": args.threads, "new_tokens": args.new_tokens,
        "ld_preload": args.ld_preload, "results": results})
    print(f"\nwrote {out} (and benchmarks/results/)")


if __name__ == "__main__":
    main()
