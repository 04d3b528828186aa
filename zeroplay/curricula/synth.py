"""The seed synthesizer: small, valid Python tasks from a grammar, with zero real data.

    drafts = synthesize(n=200, seed=0, max_ops=3, run_id="demo")
    seen = synthesize_heldout_seen(n=500, seed=0, max_ops=3, run_id="demo", train=drafts)
    unseen = synthesize(n=500, seed=0, max_ops=3, run_id="demo", split="heldout-unseen")
    more = synthesize(n=5000, seed=0, stream="sft", reserved=held_out_hashes)  # training

A task is a pipeline of 1..max_ops typed operations of the catalogue (`catalogue.py`:
builtins and standard-library APIs) applied to one input, with random
constants, sometimes a second integer argument `k` in place of a constant. The
reference solution is the pipeline written out; the statement is written from the same
operations; the Hypothesis strategy comes from the input type. Each task is generated
from its own seed (recorded in its provenance), so any task can be regenerated exactly
(a heldout-seen task from its seed and its operations, the tags without a colon). Its other
tags say what it is made of: `family:<name>` and `api:<module>` of each operation, and
`edge:<kind>` of each operation whose statement rules on an edge case (`catalogue.py`).
Training streams follow a `Mix` (`mix.py`); held-out splits never do.

Held-out splits are fixed before any training. A fixed share of operation combinations,
chosen by hash of the combination (`reserved_for_unseen`), is never produced by a
training stream: those are the heldout-unseen split. heldout-seen tasks re-use the
combinations of the training seed tasks with new constants (combinations without a
constant only differ in their input strategy, so they rarely qualify). Every training
stream skips drafts whose normalized program is in `reserved` (the held-out hashes).

Not every draft is valid (a combination can be trivial for its inputs): validation in
the sandbox decides, and `zeroplay curriculum seed` reports the validity rate.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Iterable, Sequence

from zeroplay.corpus.catalogue import (
    AVOID,
    INPUTS,
    KEEPS,
    MAKES,
    OPS_BY_NAME,
    OPS_FROM,
    TYPE_WORDS,
    Op,
    imports_of,
)
from zeroplay.corpus.mix import UNIFORM, Mix
from zeroplay.curricula.programs import normalized_hash
from zeroplay.curricula.task import Provenance, TaskDraft, ops_of

GENERATOR = "zeroplay-synth/1"

def task_seed(seed: int, index: int, stream: str = "train") -> int:
    """The seed of one task: independent per (base seed, index, stream)."""
    digest = hashlib.sha256(f"{GENERATOR}/{stream}/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


UNSEEN_PER_MILLE = 150  # share of operation combinations reserved for heldout-unseen


def reserved_for_unseen(combo: tuple[str, ...]) -> bool:
    """Whether an operation combination is kept out of every training stream: a fixed
    ~15% of combinations, chosen by hash, so every run, seed and stream agrees.

    >>> reserved_for_unseen(("sort",)) == reserved_for_unseen(("sort",))
    True
    """
    digest = hashlib.sha256(f"{GENERATOR}/{'/'.join(combo)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < UNSEEN_PER_MILLE


def synthesize_one(seed: int, max_ops: int, run_id: str = "",
                   combo: tuple[str, ...] | None = None,
                   mix: Mix = UNIFORM) -> tuple[TaskDraft, tuple[str, ...]]:
    """One draft from its own seed (and `combo`, to re-use given operations with new
    constants, whatever the mix); also returns its operation combination."""
    rng = random.Random(seed)
    if combo:
        src = OPS_BY_NAME[combo[0]].src
    elif mix.uniform:
        src = rng.choice(list(INPUTS))
    else:
        kinds = list(INPUTS)
        src = rng.choices(kinds, weights=[mix.input_weight(k) for k in kinds])[0]
    n_ops = len(combo) if combo else rng.randint(1, max_ops)
    with_edge = None if combo or mix.edge_share is None else rng.random() < mix.edge_share
    ops: list[tuple[Op, str]] = []
    current, uses_k, k_min, facts = src, False, 0, set()
    for i in range(n_ops):
        choices = [op for op in OPS_FROM.get(current, []) if not AVOID.get(op.name, set()) & facts]
        if not combo:
            edge_rule = None if with_edge is None else with_edge and i == 0
            choices = _allowed(choices, mix, edge_rule)
        if not choices:
            break
        if combo:
            op = OPS_BY_NAME[combo[i]]
        elif mix.weighted:
            op = rng.choices(choices, weights=[mix.weight(op) for op in choices])[0]
        else:
            op = rng.choice(choices)
        const = ""
        if op.const is not None:
            if op.k_ok and not uses_k and rng.random() < 0.3:
                const, uses_k, k_min = "k", True, op.k_min
            else:
                const = str(rng.randint(*op.const))
        ops.append((op, const))
        current = op.dst
        facts = MAKES.get(op.name, set()) | (facts & KEEPS.get(op.name, set()))
    param, noun, strategy_for = INPUTS[src]
    strategy = strategy_for(rng) + (f", st.integers({k_min}, {rng.randint(3, 8)})"
                                    if uses_k else "")
    args = f"{param}: {src}" + (", k: int" if uses_k else "")
    signature = f"def f({args}) -> {current}"
    # Each line declares the type it leaves in v: the model choosing the next operation
    # then reads its input type on the line above instead of tracking it along the chain.
    body = ([f"v: {src} = {param}"] + [f"v: {op.dst} = {op.code.format(c=c)}" for op, c in ops]
            + ["return v"])
    imports = imports_of(op for op, _ in ops)
    header = "".join(f"{line}\n" for line in imports) + ("\n" if imports else "")
    reference = header + signature + ":\n" + "".join(f"    {line}\n" for line in body)
    steps = [op.phrase.format(c="k" if c == "k" else c) for op, c in ops]
    given = f"{noun}" + (" and an integer k" if uses_k else "")
    statement = (f"Write a function {signature} that takes {given}. Starting from {param}, "
                 + ", then ".join(steps) + f". Return the resulting {TYPE_WORDS[current]}.")
    combo = tuple(op.name for op, _ in ops)
    draft = TaskDraft(statement=statement, entry_point="f", signature=signature,
                      reference=reference, strategy=strategy,
                      provenance=Provenance.seed_synth(run_id, GENERATOR, seed),
                      kind=f"{src}->{current}", tags=combo + corpus_tags(op for op, _ in ops))
    return draft, combo


def _allowed(choices: list[Op], mix: Mix, edge: bool | None) -> list[Op]:
    """The choices a mix allows: weight above 0, and an edge case or none where asked
    (`edge` True: edge operations only, if the type has any; False: none)."""
    if mix.weighted:
        choices = [op for op in choices if mix.weight(op) > 0]
    if edge is None:
        return choices
    if edge:
        return [op for op in choices if op.edge] or choices
    return [op for op in choices if not op.edge]


def corpus_tags(ops: Iterable[Op]) -> tuple[str, ...]:
    """`family:`, `api:` and `edge:` tags of a pipeline, each once, in a fixed order."""
    ops = list(ops)
    tags = [f"family:{op.family}" for op in ops] + [f"api:{op.api}" for op in ops] + \
        [f"edge:{op.edge}" for op in ops if op.edge]
    return tuple(dict.fromkeys(tags))


def corpus_tags_of(tags: Sequence[str]) -> tuple[str, ...]:
    """A task's `family:`, `api:` and `edge:` tags; for a synthesizer task written before
    tasks carried them (its tags only name its operations), derived from the catalogue."""
    if any(":" in tag for tag in tags):
        return tuple(tag for tag in tags if ":" in tag)
    ops = [OPS_BY_NAME.get(name) for name in tags]
    return corpus_tags(ops) if ops and all(ops) else ()


def synthesize(n: int, seed: int = 0, max_ops: int = 3, run_id: str = "", *,
               split: str = "train", stream: str | None = None,
               reserved: Collection[str] = frozenset(), mix: Mix = UNIFORM) -> list[TaskDraft]:
    """`n` distinct drafts from one seed stream (default: the split's name), drawn by `mix`
    (held-out splits ignore it). Training streams never use a combination reserved for
    heldout-unseen, and the heldout-unseen split uses nothing else; drafts whose
    normalized program is in `reserved` are skipped."""
    unseen = split == "heldout-unseen"
    if split != "train":
        mix = UNIFORM
    drafts: dict[str, TaskDraft] = {}  # by normalized program: no near-duplicates either
    for index in range(n * 50):
        if len(drafts) >= n:
            break
        draft, combo = synthesize_one(task_seed(seed, index, stream or split), max_ops, run_id,
                                      mix=mix)
        key = normalized_hash(draft.reference)
        if reserved_for_unseen(combo) == unseen and key not in reserved and key not in drafts:
            drafts[key] = draft
    return list(drafts.values())


def synthesize_heldout_seen(n: int, seed: int, max_ops: int, run_id: str,
                            train: Sequence[TaskDraft], *, stream: str = "heldout-seen",
                            reserved: Collection[str] = frozenset()) -> list[TaskDraft]:
    """The combinations of `train`, in turn, with new constants; none equal to a
    training draft or in `reserved`. Fewer than `n` when `train` has too few combinations
    with constants. Another `stream` draws other constants the same way (a validation
    set built like heldout-seen, sharing none of its seeds)."""
    taken = {normalized_hash(d.reference) for d in train} | set(reserved)
    drafts: list[TaskDraft] = []
    for index in range(n * 20 if train else 0):
        if len(drafts) >= n:
            break
        combo = ops_of(train[index % len(train)].tags)
        draft, drawn = synthesize_one(task_seed(seed, index, stream), max_ops, run_id,
                                      combo=combo)
        key = normalized_hash(draft.reference)
        if drawn == combo and key not in taken:
            taken.add(key)
            drafts.append(draft)
    return drafts
