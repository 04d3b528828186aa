"""The seed synthesizer: small, valid Python tasks from a grammar, with zero real data.

    drafts = synthesize(n=200, seed=0, max_ops=3, run_id="demo")
    seen = synthesize_heldout_seen(n=500, seed=0, max_ops=3, run_id="demo", train=drafts)
    unseen = synthesize(n=500, seed=0, max_ops=3, run_id="demo", split="heldout-unseen")
    more = synthesize(n=5000, seed=0, stream="sft", reserved=held_out_hashes)  # training

A task is a pipeline of 1..max_ops typed operations (map, filter, fold, sort, slice,
count, string ops, arithmetic, conditionals) applied to one input, with random
constants, sometimes a second integer argument `k` in place of a constant. The
reference solution is the pipeline written out; the statement is written from the same
operations; the Hypothesis strategy comes from the input type. Each task is generated
from its own seed (recorded in its provenance), so any task can be regenerated exactly
(a heldout-seen task from its seed and its operations, which are its tags).

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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from zeroplay.curricula.programs import normalized_hash
from zeroplay.curricula.task import Provenance, TaskDraft

GENERATOR = "zeroplay-synth/1"

# Input types: parameter name, noun for the statement, strategy maker.
INPUTS: dict[str, tuple[str, str, Callable[[random.Random], str]]] = {
    "int": ("n", "an integer n", lambda r: f"st.integers({r.randint(-60, -5)}, {r.randint(5, 60)})"),
    "str": ("s", "a string s", lambda r: f"st.text({r.choice(['abcde', 'aeiouxyz', 'the cat sat', 'banana bread'])!r}, max_size={r.randint(6, 16)})"),
    "list[int]": ("xs", "a list of integers xs", lambda r: f"st.lists(st.integers({r.randint(-50, -10)}, {r.randint(10, 50)}), max_size={r.randint(6, 16)})"),
    "list[str]": ("words", "a list of strings words", lambda r: f"st.lists(st.text({r.choice(['abe', 'aexy', 'bead'])!r}, max_size=4), max_size={r.randint(4, 10)})"),
    "dict[str, int]": ("d", "a dictionary d from strings to integers", lambda r: f"st.dictionaries(st.text('abcd', min_size=1, max_size=3), st.integers(-20, 20), max_size={r.randint(5, 10)})"),
    "tuple[int, int]": ("pair", "a pair of integers pair", lambda r: "st.tuples(st.integers(-30, 30), st.integers(-30, 30))"),
}


# The family an operation belongs to unless it names one: what it works on.
FAMILY_OF_INPUT = {"list[int]": "lists", "int": "arithmetic", "str": "strings",
                   "list[str]": "words", "dict[str, int]": "dicts", "tuple[int, int]": "pairs"}


@dataclass(frozen=True)
class Op:
    name: str
    src: str  # input type
    dst: str  # output type
    code: str  # expression over v; {c} is a constant (or the argument k)
    phrase: str  # statement fragment; {c} as in code
    const: tuple[int, int] | None = None  # range of {c}, if the op has one
    k_ok: bool = False  # {c} may be the second argument k instead of a constant
    k_min: int = -3  # smallest k drawn when {c} is k (1 where k = 0 would divide by zero)
    edge: str = ""  # the edge its statement rules on: empty, ties, negative, zero, missing
    family: str = ""  # default: FAMILY_OF_INPUT[src]
    api: str = "builtin"  # or the standard-library module the reference imports

    def __post_init__(self):
        if not self.family:
            object.__setattr__(self, "family", FAMILY_OF_INPUT[self.src])


OPS: list[Op] = [
    # list[int] -> list[int]
    Op("map_add", "list[int]", "list[int]", "[x + {c} for x in v]", "add {c} to every element", (-9, 9), True),
    Op("map_mul", "list[int]", "list[int]", "[x * {c} for x in v]", "multiply every element by {c}", (2, 5)),
    Op("map_abs", "list[int]", "list[int]", "[abs(x) for x in v]", "replace every element by its absolute value"),
    Op("map_square", "list[int]", "list[int]", "[x * x for x in v]", "square every element"),
    Op("map_mod", "list[int]", "list[int]", "[x % {c} for x in v]", "replace every element by its remainder modulo {c}", (2, 7)),
    Op("map_collatz", "list[int]", "list[int]", "[x // 2 if x % 2 == 0 else 3 * x + 1 for x in v]", "halve the even elements and replace each odd element x by 3x + 1"),
    Op("map_clip", "list[int]", "list[int]", "[min(max(x, -{c}), {c}) for x in v]", "clip every element to the range from -{c} to {c}", (1, 20)),
    Op("filter_gt", "list[int]", "list[int]", "[x for x in v if x > {c}]", "keep only the elements greater than {c}", (-10, 10), True),
    Op("filter_even", "list[int]", "list[int]", "[x for x in v if x % 2 == 0]", "keep only the even elements"),
    Op("filter_odd", "list[int]", "list[int]", "[x for x in v if x % 2 != 0]", "keep only the odd elements"),
    Op("filter_div", "list[int]", "list[int]", "[x for x in v if x % {c} == 0]", "keep only the elements divisible by {c}", (2, 5)),
    Op("sort", "list[int]", "list[int]", "sorted(v)", "sort the elements in ascending order"),
    Op("sort_desc", "list[int]", "list[int]", "sorted(v, reverse=True)", "sort the elements in descending order"),
    Op("reverse", "list[int]", "list[int]", "v[::-1]", "reverse the order of the elements"),
    Op("take", "list[int]", "list[int]", "v[:{c}]", "keep the first {c} elements", (1, 6), True),
    Op("drop", "list[int]", "list[int]", "v[{c}:]", "drop the first {c} elements", (1, 4)),
    Op("dedup", "list[int]", "list[int]", "list(dict.fromkeys(v))", "remove repeated elements, keeping the first occurrence of each", edge="ties"),
    Op("prefix_sums", "list[int]", "list[int]", "[sum(v[:i + 1]) for i in range(len(v))]", "replace the list by its running totals"),
    Op("diffs", "list[int]", "list[int]", "[b - a for a, b in zip(v, v[1:])]", "replace the list by the differences between neighbouring elements"),
    # list[int] -> int / bool
    Op("sum", "list[int]", "int", "sum(v)", "take the sum of the elements"),
    Op("count", "list[int]", "int", "len(v)", "count the elements"),
    Op("max_or", "list[int]", "int", "max(v) if v else {c}", "take the largest element ({c} if there is none)", (-1, 0), edge="empty"),
    Op("min_or", "list[int]", "int", "min(v) if v else {c}", "take the smallest element ({c} if there is none)", (0, 1), edge="empty"),
    Op("count_gt", "list[int]", "int", "sum(1 for x in v if x > {c})", "count the elements greater than {c}", (-3, 3), True),
    Op("alt_sum", "list[int]", "int", "sum(x if i % 2 == 0 else -x for i, x in enumerate(v))", "take the alternating sum (add elements at even positions, subtract those at odd positions)"),
    Op("argmax", "list[int]", "int", "v.index(max(v)) if v else -1", "find the position of the first largest element (-1 for an empty list)", edge="ties"),
    Op("is_sorted", "list[int]", "bool", "all(a <= b for a, b in zip(v, v[1:]))", "check whether the elements are in ascending order"),
    Op("any_neg", "list[int]", "bool", "any(x < 0 for x in v)", "check whether any element is negative"),
    # int -> int / list / str / bool
    Op("add", "int", "int", "v + {c}", "add {c}", (-20, 20), True),
    Op("mul", "int", "int", "v * {c}", "multiply by {c}", (2, 4)),
    Op("square", "int", "int", "v * v", "square it"),
    Op("abs", "int", "int", "abs(v)", "take the absolute value"),
    Op("mod", "int", "int", "v % {c}", "take the remainder modulo {c}", (2, 9), True, k_min=1),
    Op("floordiv", "int", "int", "v // {c}", "divide by {c}, rounding down", (2, 6)),
    Op("digit_sum", "int", "int", "sum(int(ch) for ch in str(abs(v)))", "take the sum of the decimal digits of its absolute value", edge="negative"),
    Op("collatz", "int", "int", "v // 2 if v % 2 == 0 else 3 * v + 1", "halve it if it is even, otherwise replace it by 3 times it plus 1"),
    Op("max_c", "int", "int", "max(v, {c})", "take the larger of it and {c}", (-5, 3), True),
    Op("range", "int", "list[int]", "list(range(min(abs(v), 15)))", "make the list of numbers from 0 up to but excluding its absolute value (at most 15 numbers)"),
    Op("digits", "int", "list[int]", "[int(ch) for ch in str(abs(v))]", "make the list of the decimal digits of its absolute value", edge="negative"),
    Op("to_str", "int", "str", "str(v)", "write it in decimal as a string"),
    Op("to_bin", "int", "str", "format(abs(v), 'b')", "write its absolute value in binary as a string", edge="negative"),
    Op("is_even", "int", "bool", "v % 2 == 0", "check whether it is even"),
    # str -> str / int / list / bool
    Op("upper", "str", "str", "v.upper()", "convert it to upper case"),
    Op("reverse_s", "str", "str", "v[::-1]", "reverse it"),
    Op("sort_chars", "str", "str", "''.join(sorted(v))", "sort its characters"),
    Op("no_vowels", "str", "str", "''.join(ch for ch in v if ch not in 'aeiou')", "remove the vowels a, e, i, o, u"),
    Op("dedup_chars", "str", "str", "''.join(dict.fromkeys(v))", "remove repeated characters, keeping the first occurrence of each", edge="ties"),
    Op("replace", "str", "str", "v.replace('a', 'xy')", "replace every 'a' by 'xy'"),
    Op("head_s", "str", "str", "v[:{c}]", "keep its first {c} characters", (2, 6), True),
    Op("shift", "str", "str", "''.join(chr((ord(ch) - 97 + {c}) % 26 + 97) if 'a' <= ch <= 'z' else ch for ch in v)", "shift every lower-case letter {c} places forward in the alphabet, wrapping around", (1, 25)),
    Op("len", "str", "int", "len(v)", "take its length"),
    Op("count_a", "str", "int", "v.count('a')", "count the letters 'a'"),
    Op("vowels", "str", "int", "sum(ch in 'aeiou' for ch in v)", "count its vowels"),
    Op("distinct", "str", "int", "len(dict.fromkeys(v))", "count its distinct characters"),
    Op("find_e", "str", "int", "v.find('e')", "find the position of the first 'e' (-1 if there is none)", edge="missing"),
    Op("split_space", "str", "list[str]", "v.split(' ')", "split it at every space"),
    Op("chars", "str", "list[str]", "list(v)", "make the list of its characters"),
    Op("palindrome", "str", "bool", "v == v[::-1]", "check whether it reads the same backwards"),
    # list[str] -> ...
    Op("sort_words", "list[str]", "list[str]", "sorted(v)", "sort the strings"),
    Op("long_words", "list[str]", "list[str]", "[w for w in v if len(w) > {c}]", "keep only the strings longer than {c}", (0, 2)),
    Op("upper_words", "list[str]", "list[str]", "[w.upper() for w in v]", "convert every string to upper case"),
    Op("rev_words", "list[str]", "list[str]", "v[::-1]", "reverse the order of the strings"),
    Op("total_len", "list[str]", "int", "sum(len(w) for w in v)", "take the total length of the strings"),
    Op("nonempty", "list[str]", "int", "sum(1 for w in v if w)", "count the non-empty strings"),
    Op("join", "list[str]", "str", "'-'.join(v)", "join the strings with '-' between them"),
    Op("lens", "list[str]", "list[int]", "[len(w) for w in v]", "replace every string by its length"),
    # dict[str, int] -> ...
    Op("sum_values", "dict[str, int]", "int", "sum(v.values())", "take the sum of the values"),
    Op("count_big", "dict[str, int]", "int", "sum(1 for x in v.values() if x > {c})", "count the values greater than {c}", (-5, 5), True),
    Op("sorted_keys", "dict[str, int]", "list[str]", "sorted(v)", "make the sorted list of the keys"),
    Op("big_keys", "dict[str, int]", "list[str]", "sorted(key for key, x in v.items() if x > {c})", "make the sorted list of the keys whose value is greater than {c}", (-5, 5)),
    Op("values_by_key", "dict[str, int]", "list[int]", "[v[key] for key in sorted(v)]", "list the values in the order of their sorted keys"),
    # tuple[int, int] -> int
    Op("pair_sum", "tuple[int, int]", "int", "v[0] + v[1]", "add its two numbers"),
    Op("pair_prod", "tuple[int, int]", "int", "v[0] * v[1]", "multiply its two numbers"),
    Op("pair_dist", "tuple[int, int]", "int", "abs(v[0] - v[1])", "take the distance between its two numbers"),
    Op("pair_div", "tuple[int, int]", "int", "v[0] // v[1] if v[1] else 0", "divide the first number by the second, rounding down (0 when the second is 0)", edge="zero"),
    Op("pair_max", "tuple[int, int]", "int", "max(v)", "take the larger of its two numbers"),
]
# Facts about the value flowing through a pipeline, so that the synthesizer does not
# chain an op that would be constant on it (an always-empty filter, `any_neg` after
# `abs`, `is_sorted` after `sort`, letter counts on digit strings, ...). MAKES: facts an
# op's result has; KEEPS: facts of its input that survive; AVOID: facts that make an op
# pointless.
_NONNEG = {"map_abs", "map_square", "map_mod", "count", "count_gt", "argmax", "square", "abs",
           "digit_sum", "range", "digits", "len", "count_a", "vowels", "distinct",
           "total_len", "nonempty", "lens", "pair_dist", "filter_gt"}
_SMALL = {"count", "count_gt", "argmax", "len", "count_a", "vowels", "distinct", "find_e",
          "nonempty", "count_big", "pair_div", "mod", "digit_sum", "total_len"}
MAKES: dict[str, set[str]] = {name: {"nonneg"} for name in _NONNEG}
for name in _SMALL:
    MAKES.setdefault(name, set()).add("small")
MAKES["sort"] = {"sorted"}
MAKES["range"] |= {"sorted", "consecutive"}
MAKES["lens"] |= {"small"}
for name in ("to_str", "to_bin"):
    MAKES[name] = {"no_letters", "no_vowels"}
for name in ("no_vowels", "shift", "upper"):
    MAKES[name] = {"no_vowels"}
MAKES["chars"] = {"short_words"}
KEEPS: dict[str, set[str]] = {}
for name in ("filter_gt", "filter_even", "filter_odd", "filter_div", "take", "drop", "dedup"):
    KEEPS[name] = {"nonneg", "sorted"}
for name in ("sort", "sort_desc", "reverse", "prefix_sums", "sum", "max_or", "min_or",
             "map_mul", "floordiv", "collatz", "map_collatz"):
    KEEPS[name] = {"nonneg"}
for name in ("sort_chars", "reverse_s", "dedup_chars", "head_s", "upper", "no_vowels"):
    KEEPS[name] = {"no_letters", "no_vowels"}
AVOID: dict[str, set[str]] = {"any_neg": {"nonneg"}, "is_sorted": {"sorted"},
                              "long_words": {"short_words"}}
for name in ("count_a", "find_e", "vowels", "replace", "no_vowels"):
    AVOID[name] = {"no_letters", "no_vowels"}
for name in ("shift", "upper"):
    AVOID[name] = {"no_letters"}
for name in ("floordiv", "mod", "max_c", "mul", "digits", "to_str", "filter_gt"):
    AVOID[name] = {"small"}
AVOID["diffs"] = {"consecutive"}

OPS_FROM: dict[str, list[Op]] = {}
for _op in OPS:
    OPS_FROM.setdefault(_op.src, []).append(_op)

TYPE_WORDS = {"int": "integer", "str": "string", "bool": "boolean", "list[int]": "list of integers",
              "list[str]": "list of strings", "dict[str, int]": "dictionary", "tuple[int, int]": "pair"}


def task_seed(seed: int, index: int, stream: str = "train") -> int:
    """The seed of one task: independent per (base seed, index, stream)."""
    digest = hashlib.sha256(f"{GENERATOR}/{stream}/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


UNSEEN_PER_MILLE = 150  # share of operation combinations reserved for heldout-unseen
OPS_BY_NAME = {op.name: op for op in OPS}


def reserved_for_unseen(combo: tuple[str, ...]) -> bool:
    """Whether an operation combination is kept out of every training stream: a fixed
    ~15% of combinations, chosen by hash, so every run, seed and stream agrees.

    >>> reserved_for_unseen(("sort",)) == reserved_for_unseen(("sort",))
    True
    """
    digest = hashlib.sha256(f"{GENERATOR}/{'/'.join(combo)}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < UNSEEN_PER_MILLE


def synthesize_one(seed: int, max_ops: int, run_id: str = "",
                   combo: tuple[str, ...] | None = None) -> tuple[TaskDraft, tuple[str, ...]]:
    """One draft from its own seed (and `combo`, to re-use given operations with new
    constants); also returns its operation combination."""
    rng = random.Random(seed)
    src = OPS_BY_NAME[combo[0]].src if combo else rng.choice(list(INPUTS))
    n_ops = len(combo) if combo else rng.randint(1, max_ops)
    ops: list[tuple[Op, str]] = []
    current, uses_k, k_min, facts = src, False, 0, set()
    for i in range(n_ops):
        choices = [op for op in OPS_FROM.get(current, []) if not AVOID.get(op.name, set()) & facts]
        if not choices:
            break
        op = OPS_BY_NAME[combo[i]] if combo else rng.choice(choices)
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
    body = [f"    v = {param}"] + [f"    v = {op.code.format(c=c)}" for op, c in ops] + ["    return v"]
    reference = signature + ":\n" + "\n".join(body) + "\n"
    steps = [op.phrase.format(c="k" if c == "k" else c) for op, c in ops]
    given = f"{noun}" + (" and an integer k" if uses_k else "")
    statement = (f"Write a function {signature} that takes {given}. Starting from {param}, "
                 + ", then ".join(steps) + f". Return the resulting {TYPE_WORDS[current]}.")
    combo = tuple(op.name for op, _ in ops)
    draft = TaskDraft(statement=statement, entry_point="f", signature=signature,
                      reference=reference, strategy=strategy,
                      provenance=Provenance.seed_synth(run_id, GENERATOR, seed),
                      kind=f"{src}->{current}", tags=combo)
    return draft, combo


def synthesize(n: int, seed: int = 0, max_ops: int = 3, run_id: str = "", *,
               split: str = "train", stream: str | None = None,
               reserved: Collection[str] = frozenset()) -> list[TaskDraft]:
    """`n` distinct drafts from one seed stream (default: the split's name). Training
    streams never use a combination reserved for heldout-unseen, and the heldout-unseen
    split uses nothing else; drafts whose normalized program is in `reserved` are skipped."""
    unseen = split == "heldout-unseen"
    drafts: dict[str, TaskDraft] = {}  # by normalized program: no near-duplicates either
    for index in range(n * 50):
        if len(drafts) >= n:
            break
        draft, combo = synthesize_one(task_seed(seed, index, stream or split), max_ops, run_id)
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
        combo = train[index % len(train)].tags
        draft, _ = synthesize_one(task_seed(seed, index, stream), max_ops, run_id,
                                  combo=combo)
        key = normalized_hash(draft.reference)
        if draft.tags == combo and key not in taken:
            taken.add(key)
            drafts.append(draft)
    return drafts
