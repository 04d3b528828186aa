"""The eval loop: K samples per problem from the policy, judged in the sandbox, pass@k.

    model = resolve_model("runs/demo/checkpoints/step-40")    # path, step, policy version
    cfg = eval_config(cfg, model, temperature=0.2, max_new_tokens=512)
    with Fleet.in_process(cfg, pool) as fleet:               # or Fleet.on_ray(cfg)
        report = evaluate(problems, fleet, samples=5, tick=bar)
    write_results(report, Path("results.jsonl"), meta)         # + results.summary.json

Generation goes through the same rollout actors as self-play (chat template,
sampling parameters from `rollout.*`; temperature 0 decodes greedily, every sample the same
answer), answers are parsed by the solver's strict parser,
and judged by the same sandbox actors; an answer that does not parse, or a prompt longer than
`rollout.max_prompt_tokens`, counts as a failed sample. pass@1 and pass@k are the
unbiased estimates averaged over problems (k = the samples per problem).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zeroplay.config import Config
from zeroplay.eval.problems import PROMPT_FORMAT, EvalError, EvalProblem
from zeroplay.eval.stats import mean_pass_at_k, pass_at_k, wilson
from zeroplay.files import atomic_write_text
from zeroplay.run_paths import RunPaths

if TYPE_CHECKING:
    from zeroplay.actors.fleet import Fleet

log = logging.getLogger(__name__)
MAX_STORED_CHARS = 4000  # per completion in the results file


@dataclass(frozen=True)
class ModelRef:
    """What `policy.model` should be, and the checkpoint's step and policy version."""

    source: str
    step: int | None = None
    policy_version: int | None = None


def resolve_model(model: str) -> ModelRef:
    """`tiny`, a hub id, a model directory, a checkpoint dir or a run dir (its newest
    checkpoint). Raises EvalError naming the accepted forms."""
    from zeroplay.learner.checkpoint import STATE_FILE, latest_checkpoint

    if model == "tiny":
        return ModelRef("tiny", policy_version=0)
    path = Path(model).expanduser()
    if path.is_dir():
        run = RunPaths(path)
        if run.checkpoints_dir.is_dir() and not (path / "config.json").is_file():
            newest = latest_checkpoint(run.checkpoints_dir)
            if newest is None:
                raise EvalError(f"{path} is a run directory without a complete checkpoint; "
                                "pass a checkpoint dir runs/<name>/checkpoints/step-N")
            path = newest
        if not (path / "config.json").is_file():
            raise EvalError(f"{path} holds no model (no config.json); pass a directory "
                            "written by save_pretrained, a checkpoint or run dir, or tiny")
        state: dict[str, Any] = {}
        if (path / STATE_FILE).is_file():
            state = json.loads((path / STATE_FILE).read_text())
        return ModelRef(str(path), state.get("step"), state.get("policy_version"))
    if model.count("/") == 1 and not model.startswith((".", "/", "~")) and not path.exists():
        return ModelRef(model)  # a hub id: loaded from the local cache only
    raise EvalError(f"no model or checkpoint at {model!r}: pass tiny, a model directory, "
                    "a checkpoint runs/<name>/checkpoints/step-N, a run directory, or a hub id "
                    "in the local Hugging Face cache")


def eval_config(cfg: Config, model: ModelRef, *, temperature: float,
                max_new_tokens: int | None = None) -> Config:
    """The config with the policy pointed at the model and the eval's sampling settings.

    Temperature 0 decodes greedily: every sample of a problem is then the same answer, so
    pass@k equals pass@1. Such a config is for generating only (training refuses it), so it
    is built by copying, not validated again here.
    """
    if temperature < 0:
        raise EvalError(f"--temperature {temperature:g}: a temperature cannot be negative; "
                        "use 0 for greedy decoding or a value above 0 to sample")
    rollout = {"temperature": temperature}
    if max_new_tokens is not None:
        rollout["max_new_tokens"] = max_new_tokens
    return cfg.model_copy(update={
        "policy": cfg.policy.model_copy(update={"model": model.source}),
        "rollout": cfg.rollout.model_copy(update=rollout)})


CORPUS_TAG_KINDS = ("family", "api", "edge")  # synthesizer tags an eval breaks down by


@dataclass
class ProblemResult:
    id: str
    correct: int
    samples: list[dict] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.samples)

    def row(self, k: int) -> dict:
        return {"problem": self.id, "n": self.n, "correct": self.correct,
                "pass@1": pass_at_k(self.n, self.correct, 1),
                f"pass@{k}": pass_at_k(self.n, self.correct, k), "samples": self.samples}


@dataclass
class EvalReport:
    results: list[ProblemResult]
    samples: int
    seconds: float

    def pass_at(self, k: int) -> float:
        return mean_pass_at_k([(r.n, r.correct) for r in self.results], k)

    def summary(self) -> dict:
        k = self.samples
        out = {"problems": len(self.results), "samples": k, "pass@1": self.pass_at(1),
               f"pass@{k}": self.pass_at(k), "seconds": round(self.seconds, 2),
               "seconds_per_problem": round(self.seconds / max(1, len(self.results)), 3)}
        return out

    def by_corpus_tags(self, tags_of: dict[str, Sequence[str]]) -> dict[str, dict[str, dict]]:
        """pass@1 by family, API and edge kind (`tags_of`: problem id -> its task's tags):
        {"family": {name: {"pass@1", "n", "low", "high"}}, "api": ..., "edge": ...}. A
        problem counts in every group its tags name. The interval is the 95% Wilson interval
        over problems (with several samples a problem counts its pass@1 as a fraction of a
        success, which makes the interval approximate)."""
        groups: dict[str, list[ProblemResult]] = {}
        for r in self.results:
            for tag in dict.fromkeys(tags_of.get(r.id, ())):
                if tag.split(":")[0] in CORPUS_TAG_KINDS:
                    groups.setdefault(tag, []).append(r)
        out: dict[str, dict[str, dict]] = {kind: {} for kind in CORPUS_TAG_KINDS}
        for tag, rs in sorted(groups.items()):
            kind, _, name = tag.partition(":")
            value = mean_pass_at_k([(r.n, r.correct) for r in rs], 1)
            low, high = wilson(round(value * len(rs)), len(rs))
            out[kind][name] = {"pass@1": value, "n": len(rs), "low": low, "high": high}
        return out

    def pass_at_1_by(self, group_of: dict[str, str]) -> dict[str, float]:
        """pass@1 per group of problems (`group_of`: problem id -> group), groups sorted."""
        groups: dict[str, list[ProblemResult]] = {}
        for r in self.results:
            if r.id in group_of:
                groups.setdefault(group_of[r.id], []).append(r)
        return {g: mean_pass_at_k([(r.n, r.correct) for r in rs], 1)
                for g, rs in sorted(groups.items())}


def evaluate(problems: Sequence[EvalProblem], fleet: Fleet, samples: int,
             max_prompt_tokens: int, batch_problems: int = 4,
             tick: Callable[[], None] | None = None, greedy: bool = False) -> EvalReport:
    """Generate `samples` answers per problem (`greedy`: decode greedily whatever the
    fleet's temperature), judge them, count the correct ones."""
    from zeroplay.actors.parsing import parse_solution

    if samples < 1:
        raise EvalError(f"--samples {samples}: need at least one sample per problem")
    start = time.monotonic()
    results: list[ProblemResult] = []
    for first in range(0, len(problems), batch_problems):
        batch = list(problems[first:first + batch_problems])
        fits = [n <= max_prompt_tokens
                for n in fleet.rollouts.prompt_tokens([p.messages for p in batch])]
        asked = [p for p, ok in zip(batch, fits, strict=True) if ok]
        outs = fleet.rollouts.generate([p.messages for p in asked], samples, "solver",
                                       greedy=greedy)
        per_problem: dict[str, list[dict]] = {p.id: [] for p in batch}
        candidates, owners = [], []
        for out in outs:
            problem = asked[out.prompt_index]
            parsed = parse_solution(out.text, problem.entry_point)
            sample = {"status": "unparsed", "parse": parsed.reason,
                      "finish_reason": out.finish_reason, "tokens": len(out.completion_ids),
                      "completion": out.text[:MAX_STORED_CHARS]}
            per_problem[problem.id].append(sample)
            if parsed.code is not None:
                candidates.append(problem.candidate(parsed.code))
                owners.append(sample)
        for sample, verdict in zip(owners, fleet.sandboxes.judge(candidates) if candidates else [],
                                   strict=True):
            sample["status"] = verdict.status
        for problem, ok in zip(batch, fits, strict=True):
            if not ok:
                log.warning("%s: prompt longer than rollout.max_prompt_tokens=%d; its samples "
                            "count as failed", problem.id, max_prompt_tokens)
                per_problem[problem.id] = [{"status": "prompt_too_long"}] * samples
            rows = per_problem[problem.id]
            results.append(ProblemResult(problem.id, sum(s["status"] == "pass" for s in rows),
                                         rows))
            if tick:
                tick()
    return EvalReport(results, samples, time.monotonic() - start)


def summary_path(out: Path) -> Path:
    return out.with_name(out.stem + ".summary.json")


def write_results(report: EvalReport, out: Path, meta: dict) -> dict:
    """Per-problem JSONL at `out`, the summary (with `meta`) next to it; returns it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {**meta, **report.summary(), "prompt_format": PROMPT_FORMAT,
               "created_at": time.time()}
    atomic_write_text(out, "".join(json.dumps(r.row(report.samples)) + "\n"
                                   for r in report.results))
    atomic_write_text(summary_path(out), json.dumps(summary, indent=2) + "\n")
    return summary
