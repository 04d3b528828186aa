"""Which frozen test cases a task shows the solver: informative ones, not the first draws.

    chosen = choose_public([(args, expected), ...], k=3)   # a set of case indices
    chosen = choose_public(cases, k=3, edge="empty")        # one shows an empty input

Hypothesis draws its simplest examples first (`[]`, `[0]`, `0`, `''`), so the first
cases of a task tell the solver almost nothing. `choose_public` ranks the cases by a
deterministic rule and takes them in that order:

1. fewest minimal arguments (`is_minimal`: zero, empty, or a collection of only those);
2. size closest to the median size of all the task's cases (moderate inputs and outputs,
   which also keeps the prompt short), measured on the tagged values' text;
3. draw order, to break ties.

A task whose statement rules on an edge case (`edge`: empty, zero, negative, ties, bound,
missing) first takes the best-ranked case that shows one (`shows_edge`: an empty input, a
zero, a negative number, a repeated element, at most two elements, or an output of -1, 0
or '' for a missing item), if any was drawn; the rule looks at the task's input and
output, so for an edge met midway through a pipeline the case shown is a likely one, not a
certain one. It then takes cases whose expected outputs differ from those already taken,
then fills up with the next ranked ones. It never takes a case that would leave fewer than two
distinct expected outputs among the hidden cases, so a constant answer cannot earn the
reward; a task with too few distinct outputs shows fewer than `k` cases. Everything is a
function of the cases alone, so the same draws give the same choice. It does not
guarantee that the shown cases explain the task, only that they are not its minimal ones
where the strategy allows larger values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from statistics import median

from zeroplay.sandbox.codec import canonical

Case = tuple[list, list]  # tagged arguments, tagged expected value


def is_minimal(value: list) -> bool:
    """Whether a tagged value is one of Hypothesis' simplest: zero, empty, or a collection
    of nothing else. Booleans and None are never minimal (nothing simpler to show).

    >>> is_minimal(["l", [["i", 0]]]), is_minimal(["s", ""]), is_minimal(["i", -3])
    (True, True, False)
    """
    tag, payload = value[0], value[1] if len(value) > 1 else None
    if tag in ("i", "f"):
        return payload == 0
    if tag == "s":
        return payload == ""
    if tag in ("l", "t", "S", "F"):
        return all(is_minimal(item) for item in payload)
    if tag == "d":
        return all(is_minimal(key) and is_minimal(val) for key, val in payload)
    return False


def _values(value: list):
    """Every tagged value inside a tagged value, itself included."""
    yield value
    tag, payload = value[0], value[1] if len(value) > 1 else None
    if tag in ("l", "t", "S", "F"):
        for item in payload:
            yield from _values(item)
    elif tag == "d":
        for key, val in payload:
            yield from _values(key)
            yield from _values(val)


def _repeats(value: list) -> bool:
    tag, payload = value[0], value[1] if len(value) > 1 else None
    items = (list(payload) if tag == "s" else [canonical(v) for v in payload] if tag in ("l", "t")
             else [canonical(v) for _, v in payload] if tag == "d" else [])
    return len(set(items)) < len(items)


def shows_edge(case: Case, edge: str) -> bool:
    """Whether a case shows an input (or, for `missing`, an output) of the edge kind.

    >>> shows_edge(([["l", []]], ["i", 0]), "empty"), shows_edge(([["s", "abc"]], ["i", 2]), "ties")
    (True, False)
    """
    args, expected = case
    values = [v for arg in args for v in _values(arg)]
    if edge == "empty":
        return any(v[0] in ("l", "s", "d", "t") and len(v[1]) == 0 for v in values)
    if edge == "zero":
        return any(v == ["i", 0] for v in values)
    if edge == "negative":
        return any(v[0] == "i" and v[1] < 0 for v in values)
    if edge == "ties":
        return any(_repeats(v) for v in values)
    if edge == "bound":
        return any(v[0] in ("l", "s", "d") and 0 < len(v[1]) <= 2 for v in values)
    if edge == "missing":
        return expected in (["i", -1], ["i", 0], ["s", ""])
    return False


def choose_public(cases: Sequence[Case], k: int, edge: str = "") -> set[int]:
    """The indices of at most `k` cases to show, chosen by the rule above.

    >>> cases = [([["i", 0]], ["i", 0]), ([["i", 1]], ["i", 1]), ([["i", 2]], ["i", 4]),
    ...          ([["i", 3]], ["i", 9]), ([["i", 5]], ["i", 25])]
    >>> sorted(choose_public(cases, 2))
    [1, 2]
    """
    outputs = [canonical(expected) for _, expected in cases]
    sizes = [len(canonical(args)) + len(out) for (args, _), out in zip(cases, outputs, strict=True)]
    middle = median(sizes) if sizes else 0
    ranked = sorted(range(len(cases)), key=lambda i: (
        sum(map(is_minimal, cases[i][0])), abs(sizes[i] - middle), i))
    hidden = Counter(outputs)
    chosen: list[int] = []

    def take(i: int) -> bool:
        hidden[outputs[i]] -= 1
        if sum(n > 0 for n in hidden.values()) >= 2:  # a constant answer must not pass them
            chosen.append(i)
            return True
        hidden[outputs[i]] += 1
        return False

    shown: set[str] = set()
    for i in ranked if edge else ():
        if shows_edge(cases[i], edge) and take(i):
            shown.add(outputs[i])
            break
    for i in ranked:
        if len(chosen) < k and outputs[i] not in shown and take(i):
            shown.add(outputs[i])
    for i in ranked:
        if len(chosen) < k and i not in chosen:
            take(i)
    return set(chosen)
