"""The synthesizer's catalogue: the typed operations a task is a pipeline of.

    OPS_BY_NAME["median_low"].api, FAMILIES, APIS   # "statistics", the names a mix may weigh

Every operation declares its family (what it works on or the domain it belongs to), the
API its reference exercises (`builtin`, or the standard-library module it imports) and,
when its meaning hinges on an edge, the edge kind its statement rules on (empty, ties,
negative, zero, missing, bound) with one example input of that edge and the value the
statement gives for it (literals; `{c}` is the constant). `tests/curricula/test_catalogue.py`
runs every reference in the sandbox and checks each example against it. The facts below
(MAKES, KEEPS, AVOID) keep the synthesizer from chaining an operation that would be
constant on what flows into it; they are heuristics, not proofs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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
    edge: str = ""  # the edge its statement rules on: empty, ties, negative, zero, missing, bound
    family: str = ""  # default: FAMILY_OF_INPUT[src]
    api: str = "builtin"  # or the standard-library module the reference imports
    example: tuple[str, str] | None = None  # (edge input, value the statement gives), literals

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
    Op("dedup", "list[int]", "list[int]", "list(dict.fromkeys(v))", "remove repeated elements, keeping the first occurrence of each", edge="ties", example=("[2, 1, 2]", "[2, 1]")),
    Op("prefix_sums", "list[int]", "list[int]", "[sum(v[:i + 1]) for i in range(len(v))]", "replace the list by its running totals"),
    Op("diffs", "list[int]", "list[int]", "[b - a for a, b in zip(v, v[1:])]", "replace the list by the differences between neighbouring elements"),
    # list[int] -> int / bool
    Op("sum", "list[int]", "int", "sum(v)", "take the sum of the elements"),
    Op("count", "list[int]", "int", "len(v)", "count the elements"),
    Op("max_or", "list[int]", "int", "max(v) if v else {c}", "take the largest element ({c} if there is none)", (-1, 0), edge="empty", example=("[]", "{c}")),
    Op("min_or", "list[int]", "int", "min(v) if v else {c}", "take the smallest element ({c} if there is none)", (0, 1), edge="empty", example=("[]", "{c}")),
    Op("count_gt", "list[int]", "int", "sum(1 for x in v if x > {c})", "count the elements greater than {c}", (-3, 3), True),
    Op("alt_sum", "list[int]", "int", "sum(x if i % 2 == 0 else -x for i, x in enumerate(v))", "take the alternating sum (add elements at even positions, subtract those at odd positions)"),
    Op("argmax", "list[int]", "int", "v.index(max(v)) if v else -1", "find the position of the first largest element (-1 for an empty list)", edge="ties", example=("[3, 5, 5]", "1")),
    Op("is_sorted", "list[int]", "bool", "all(a <= b for a, b in zip(v, v[1:]))", "check whether the elements are in ascending order"),
    Op("any_neg", "list[int]", "bool", "any(x < 0 for x in v)", "check whether any element is negative"),
    # int -> int / list / str / bool
    Op("add", "int", "int", "v + {c}", "add {c}", (-20, 20), True),
    Op("mul", "int", "int", "v * {c}", "multiply by {c}", (2, 4)),
    Op("square", "int", "int", "v * v", "square it"),
    Op("abs", "int", "int", "abs(v)", "take the absolute value"),
    Op("mod", "int", "int", "v % {c}", "take the remainder modulo {c}", (2, 9), True, k_min=1),
    Op("floordiv", "int", "int", "v // {c}", "divide by {c}, rounding down", (2, 6)),
    Op("digit_sum", "int", "int", "sum(int(ch) for ch in str(abs(v)))", "take the sum of the decimal digits of its absolute value", edge="negative", example=("-45", "9")),
    Op("collatz", "int", "int", "v // 2 if v % 2 == 0 else 3 * v + 1", "halve it if it is even, otherwise replace it by 3 times it plus 1"),
    Op("max_c", "int", "int", "max(v, {c})", "take the larger of it and {c}", (-5, 3), True),
    Op("range", "int", "list[int]", "list(range(min(abs(v), 15)))", "make the list of numbers from 0 up to but excluding its absolute value (at most 15 numbers)"),
    Op("digits", "int", "list[int]", "[int(ch) for ch in str(abs(v))]", "make the list of the decimal digits of its absolute value", edge="negative", example=("-45", "[4, 5]")),
    Op("to_str", "int", "str", "str(v)", "write it in decimal as a string"),
    Op("to_bin", "int", "str", "format(abs(v), 'b')", "write its absolute value in binary as a string", edge="negative", example=("-5", "'101'")),
    Op("is_even", "int", "bool", "v % 2 == 0", "check whether it is even"),
    # str -> str / int / list / bool
    Op("upper", "str", "str", "v.upper()", "convert it to upper case"),
    Op("reverse_s", "str", "str", "v[::-1]", "reverse it"),
    Op("sort_chars", "str", "str", "''.join(sorted(v))", "sort its characters"),
    Op("no_vowels", "str", "str", "''.join(ch for ch in v if ch not in 'aeiou')", "remove the vowels a, e, i, o, u"),
    Op("dedup_chars", "str", "str", "''.join(dict.fromkeys(v))", "remove repeated characters, keeping the first occurrence of each", edge="ties", example=("'abab'", "'ab'")),
    Op("replace", "str", "str", "v.replace('a', 'xy')", "replace every 'a' by 'xy'"),
    Op("head_s", "str", "str", "v[:{c}]", "keep its first {c} characters", (2, 6), True),
    Op("shift", "str", "str", "''.join(chr((ord(ch) - 97 + {c}) % 26 + 97) if 'a' <= ch <= 'z' else ch for ch in v)", "shift every lower-case letter {c} places forward in the alphabet, wrapping around", (1, 25)),
    Op("len", "str", "int", "len(v)", "take its length"),
    Op("count_a", "str", "int", "v.count('a')", "count the letters 'a'"),
    Op("vowels", "str", "int", "sum(ch in 'aeiou' for ch in v)", "count its vowels"),
    Op("distinct", "str", "int", "len(dict.fromkeys(v))", "count its distinct characters"),
    Op("find_e", "str", "int", "v.find('e')", "find the position of the first 'e' (-1 if there is none)", edge="missing", example=("'abc'", "-1")),
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
    Op("pair_div", "tuple[int, int]", "int", "v[0] // v[1] if v[1] else 0", "divide the first number by the second, rounding down (0 when the second is 0)", edge="zero", example=("(7, 0)", "0")),
    Op("pair_max", "tuple[int, int]", "int", "max(v)", "take the larger of its two numbers"),
]
# Standard-library operations: each reference imports its module (`api`) and shows one
# way to compute what the statement says with it.
STDLIB_OPS: list[Op] = [
    # collections: counting
    Op("most_common", "list[int]", "int", "collections.Counter(v).most_common(1)[0][0] if v else {c}", "take the most frequent element (the one seen first among ties; {c} for an empty list)", (-1, 0), edge="ties", family="counting", api="collections", example=("[4, 2, 2, 4, 7]", "4")),
    Op("max_count", "list[int]", "int", "max(collections.Counter(v).values(), default=0)", "take how many times the most frequent element occurs (0 for an empty list)", edge="empty", family="counting", api="collections", example=("[]", "0")),
    Op("singles", "list[int]", "list[int]", "[x for x, n in collections.Counter(v).items() if n == 1]", "keep the elements that occur exactly once, in the order of their first occurrence", family="counting", api="collections"),
    Op("char_counts", "str", "dict[str, int]", "dict(collections.Counter(v))", "count each character, as a dictionary from character to count", family="counting", api="collections"),
    Op("word_counts", "list[str]", "dict[str, int]", "dict(collections.Counter(v))", "count how often each string occurs, as a dictionary from string to count", family="counting", api="collections"),
    Op("top_char", "str", "str", "collections.Counter(v).most_common(1)[0][0] if v else ''", "take the most frequent character (the one seen first among ties; '' for an empty string)", edge="ties", family="counting", api="collections", example=("'abba'", "'a'")),
    Op("last_n", "list[int]", "list[int]", "list(collections.deque(v, maxlen={c}))", "keep the last {c} elements", (1, 5), family="counting", api="collections"),
    # itertools: iteration
    Op("pair_sums", "list[int]", "list[int]", "[a + b for a, b in itertools.pairwise(v)]", "replace the list by the sums of neighbouring elements", family="iteration", api="itertools"),
    Op("running_max", "list[int]", "list[int]", "list(itertools.accumulate(v, max))", "replace every element by the largest element up to and including it", family="iteration", api="itertools"),
    Op("run_lengths", "list[int]", "list[int]", "[len(list(g)) for _, g in itertools.groupby(v)]", "replace the list by the lengths of its runs of equal neighbouring elements", family="iteration", api="itertools"),
    Op("squeeze", "list[int]", "list[int]", "[x for x, _ in itertools.groupby(v)]", "collapse every run of equal neighbouring elements into one element", family="iteration", api="itertools"),
    Op("squeeze_chars", "str", "str", "''.join(ch for ch, _ in itertools.groupby(v))", "collapse every run of a repeated character into one character", family="iteration", api="itertools"),
    Op("pairs_summing", "list[int]", "int", "sum(1 for a, b in itertools.combinations(v, 2) if a + b == {c})", "count the pairs of positions i < j whose elements add up to {c}", (-5, 5), family="iteration", api="itertools"),
    Op("cycle_take", "list[int]", "list[int]", "list(itertools.islice(itertools.cycle(v), {c})) if v else []", "repeat the list over and over and keep the first {c} elements ([] for an empty list)", (3, 9), edge="empty", family="iteration", api="itertools", example=("[]", "[]")),
    Op("take_while", "list[int]", "list[int]", "list(itertools.takewhile(lambda x: x > {c}, v))", "keep the leading elements while they are greater than {c}", (-10, 10), family="iteration", api="itertools"),
    Op("drop_while", "list[int]", "list[int]", "list(itertools.dropwhile(lambda x: x < {c}, v))", "drop the leading elements while they are less than {c}", (-10, 10), family="iteration", api="itertools"),
    # heapq: heaps
    Op("largest_n", "list[int]", "list[int]", "heapq.nlargest({c}, v)", "take the {c} largest elements, largest first (all of them when there are fewer)", (1, 5), edge="bound", family="heaps", api="heapq", example=("[5]", "[5]")),
    Op("smallest_n", "list[int]", "list[int]", "heapq.nsmallest({c}, v)", "take the {c} smallest elements, smallest first (all of them when there are fewer)", (1, 5), edge="bound", family="heaps", api="heapq", example=("[5]", "[5]")),
    Op("kth_largest", "list[int]", "int", "heapq.nlargest({c}, v)[-1] if len(v) >= {c} else 0", "take the {c}-th largest element, counting repeats (0 when there are fewer than {c} elements)", (1, 4), edge="bound", family="heaps", api="heapq", example=("[]", "0")),
    Op("two_smallest_sum", "list[int]", "int", "sum(heapq.nsmallest(2, v))", "take the sum of the two smallest elements (of all of them when there are fewer than two)", edge="bound", family="heaps", api="heapq", example=("[7]", "7")),
    Op("shortest_words", "list[str]", "list[str]", "heapq.nsmallest(2, v, key=len)", "take the two shortest strings, shortest first (the earlier one first among equal lengths)", edge="ties", family="heaps", api="heapq", example=("['ab', 'c', 'd']", "['c', 'd']")),
    # bisect: searching
    Op("rank_of", "list[int]", "int", "bisect.bisect_left(sorted(v), {c})", "count the elements less than {c}", (-10, 10), True, family="searching", api="bisect"),
    Op("count_within", "list[int]", "int", "bisect.bisect_right(sorted(v), {c}) - bisect.bisect_left(sorted(v), -{c})", "count the elements from -{c} to {c}, both included", (1, 20), edge="bound", family="searching", api="bisect", example=("[-{c}, {c}, 99]", "2")),
    Op("below", "list[int]", "list[int]", "sorted(v)[:bisect.bisect_left(sorted(v), {c})]", "keep the elements less than {c}, in ascending order", (-10, 10), family="searching", api="bisect"),
    Op("grade", "int", "int", "bisect.bisect_right([-10, 0, 10, 20], v)", "count how many of the thresholds -10, 0, 10 and 20 are at most it", edge="bound", family="searching", api="bisect", example=("10", "3")),
    Op("insert_sorted", "list[int]", "list[int]", "sorted(v)[:bisect.bisect(sorted(v), {c})] + [{c}] + sorted(v)[bisect.bisect(sorted(v), {c}):]", "sort the elements in ascending order and insert {c} where it keeps them sorted", (-10, 10), family="searching", api="bisect"),
    # functools: folds
    Op("xor_all", "list[int]", "int", "functools.reduce(lambda a, b: a ^ b, v, 0)", "take the bitwise exclusive or of all elements (0 for an empty list)", edge="empty", family="folds", api="functools", example=("[]", "0")),
    Op("fold_digits", "list[int]", "int", "functools.reduce(lambda a, b: a * 10 + abs(b) % 10, v, 0)", "read the last decimal digits of the elements' absolute values, in order, as one number (0 for an empty list)", edge="negative", family="folds", api="functools", example=("[-12, 3]", "23")),
    Op("join_longest", "list[str]", "str", "functools.reduce(lambda a, b: b if len(b) > len(a) else a, v, '')", "take the longest string (the first among ties; '' for an empty list)", edge="ties", family="folds", api="functools", example=("['ab', 'cd', 'e']", "'ab'")),
    # operator
    Op("negate", "list[int]", "list[int]", "list(map(operator.neg, v))", "negate every element", family="lists", api="operator"),
    Op("key_of_max", "dict[str, int]", "str", "sorted(sorted(v.items()), key=operator.itemgetter(1), reverse=True)[0][0] if v else ''", "take the key with the largest value (the alphabetically first among ties; '' for an empty dictionary)", edge="ties", family="dicts", api="operator", example=("{'b': 2, 'a': 2}", "'a'")),
    Op("pair_swap_sub", "tuple[int, int]", "int", "operator.sub(v[1], v[0])", "subtract the first number from the second", family="pairs", api="operator"),
    # math: numbers
    Op("isqrt", "int", "int", "math.isqrt(abs(v))", "take the integer square root (rounded down) of its absolute value", edge="negative", family="numbers", api="math", example=("-10", "3")),
    Op("factorial_mod", "int", "int", "math.factorial(abs(v) % 10)", "take the factorial of its absolute value modulo 10", edge="negative", family="numbers", api="math", example=("-13", "6")),
    Op("choose", "int", "int", "math.comb(abs(v) % 20, {c})", "count the ways to choose {c} items out of m, where m is its absolute value modulo 20", (1, 3), family="numbers", api="math"),
    Op("gcd_with", "int", "int", "math.gcd(v, {c})", "take the greatest common divisor of it and {c} (never negative)", (2, 12), True, edge="negative", family="numbers", api="math", example=("-{c}", "{c}")),
    Op("lcm_with", "int", "int", "math.lcm(v, {c})", "take the least common multiple of it and {c} (never negative; 0 when it is 0)", (2, 9), edge="zero", family="numbers", api="math", example=("0", "0")),
    Op("gcd_all", "list[int]", "int", "math.gcd(*v)", "take the greatest common divisor of all elements (0 for an empty list)", edge="empty", family="numbers", api="math", example=("[]", "0")),
    Op("product_mod", "list[int]", "int", "math.prod(v) % 1000", "take the product of the elements modulo 1000 (1 for an empty list)", edge="empty", family="numbers", api="math", example=("[]", "1")),
    Op("pair_gcd", "tuple[int, int]", "int", "math.gcd(*v)", "take the greatest common divisor of its two numbers (0 when both are 0)", edge="zero", family="numbers", api="math", example=("(0, 0)", "0")),
    Op("pair_ceil_div", "tuple[int, int]", "int", "math.ceil(v[0] / v[1]) if v[1] else 0", "divide the first number by the second, rounding up (0 when the second is 0)", edge="zero", family="numbers", api="math", example=("(7, 0)", "0")),
    Op("pair_norm", "tuple[int, int]", "int", "math.isqrt(v[0] ** 2 + v[1] ** 2)", "take the distance from (0, 0) to the point (first, second), rounded down", family="numbers", api="math"),
    # statistics
    Op("median_low", "list[int]", "int", "statistics.median_low(v) if v else {c}", "take the median, the lower middle element for an even count ({c} for an empty list)", (-1, 0), edge="empty", family="statistics", api="statistics", example=("[]", "{c}")),
    Op("median_high", "list[int]", "int", "statistics.median_high(v) if v else {c}", "take the median, the higher middle element for an even count ({c} for an empty list)", (-1, 0), edge="empty", family="statistics", api="statistics", example=("[4, 1]", "4")),
    Op("mode_first", "list[int]", "int", "statistics.mode(v) if v else 0", "take the most common element (the one seen first among ties; 0 for an empty list)", edge="ties", family="statistics", api="statistics", example=("[3, 1, 1, 3]", "3")),
    Op("modes", "list[int]", "list[int]", "statistics.multimode(v)", "make the list of the most common elements, in the order of their first occurrence ([] for an empty list)", edge="ties", family="statistics", api="statistics", example=("[3, 1, 1, 3, 2]", "[3, 1]")),
    Op("mean_floor", "list[int]", "int", "int(statistics.mean(v) // 1) if v else 0", "take the mean rounded down (0 for an empty list)", edge="empty", family="statistics", api="statistics", example=("[-1, 0]", "-1")),
    # fractions
    Op("reduce_pair", "tuple[int, int]", "tuple[int, int]", "(fractions.Fraction(*v).numerator, fractions.Fraction(*v).denominator) if v[1] else (0, 1)", "reduce the fraction first/second to lowest terms, as a pair (numerator, positive denominator); (0, 1) when the second is 0", edge="zero", family="fractions", api="fractions", example=("(4, -6)", "(-2, 3)")),
    Op("fraction_text", "tuple[int, int]", "str", "str(fractions.Fraction(*v)) if v[1] else 'undefined'", "write first/second as a reduced fraction such as '-3/4', or a whole number such as '2' ('undefined' when the second is 0)", edge="zero", family="fractions", api="fractions", example=("(6, 3)", "'2'")),
    Op("mean_fraction", "list[int]", "tuple[int, int]", "(fractions.Fraction(sum(v), len(v)).numerator, fractions.Fraction(sum(v), len(v)).denominator) if v else (0, 1)", "take the mean as a reduced fraction, a pair (numerator, denominator); (0, 1) for an empty list", edge="empty", family="fractions", api="fractions", example=("[1, 2]", "(3, 2)")),
    # re: regex
    Op("vowel_runs", "str", "list[str]", "re.findall('[aeiou]+', v)", "make the list of its maximal runs of vowels a, e, i, o, u", family="regex", api="re"),
    Op("star_vowels", "str", "str", "re.sub('[aeiou]', '*', v)", "replace every vowel a, e, i, o, u by '*'", family="regex", api="re"),
    Op("split_ae", "str", "list[str]", "re.split('[ae]+', v)", "split it at every run of the letters a and e", family="regex", api="re"),
    Op("word_count", "str", "int", "len(re.findall('[a-z]+', v))", "count its words, the maximal runs of lower-case letters", family="regex", api="re"),
    Op("squash_spaces", "str", "str", "re.sub(' +', ' ', v).strip(' ')", "replace every run of spaces by one space, then remove spaces at both ends", family="regex", api="re"),
    Op("only_abc", "str", "bool", "re.fullmatch('[abc]*', v) is not None", "check whether it consists only of the letters a, b and c (true for the empty string)", edge="empty", family="regex", api="re", example=("''", "True")),
    Op("longest_a_run", "str", "int", "max(map(len, re.findall('a+', v)), default=0)", "take the length of its longest run of the letter 'a' (0 if there is no 'a')", edge="missing", family="regex", api="re", example=("'xyz'", "0")),
    Op("abcd_words", "list[str]", "list[str]", "[w for w in v if re.fullmatch('[a-d]+', w)]", "keep only the non-empty strings made of the letters a to d", edge="empty", family="regex", api="re", example=("['', 'ab', 'x']", "['ab']")),
    # string and textwrap: text
    Op("mirror_letters", "str", "str", "v.translate(str.maketrans(string.ascii_lowercase, string.ascii_lowercase[::-1]))", "replace every lower-case letter by its mirror in the alphabet (a by z, b by y, and so on)", family="text", api="string"),
    Op("capitalize_words", "str", "str", "string.capwords(v)", "split it into words at runs of spaces, capitalize the first letter of each word and join them with single spaces", family="text", api="string"),
    Op("letters_only", "str", "str", "''.join(ch for ch in v if ch in string.ascii_letters)", "remove every character that is not a letter", family="text", api="string"),
    Op("wrap_lines", "str", "list[str]", "textwrap.wrap(v, {c})", "wrap it into lines of at most {c} characters, breaking at spaces where it can and dropping the spaces at the breaks", (3, 8), family="text", api="textwrap"),
    # calendar: dates
    Op("leap_year", "int", "bool", "calendar.isleap(2000 + v)", "check whether the year 2000 + n is a leap year", family="dates", api="calendar"),
    Op("month_days", "int", "int", "calendar.monthrange(2023, abs(v) % 12 + 1)[1]", "take the number of days in month m of 2023, where m is its absolute value modulo 12 plus 1", edge="negative", family="dates", api="calendar", example=("-1", "28")),
    Op("weekday", "int", "int", "calendar.weekday(2024, 1, abs(v) % 31 + 1)", "take the weekday (0 for Monday) of day d of January 2024, where d is its absolute value modulo 31 plus 1", family="dates", api="calendar"),
    Op("leap_days", "int", "int", "calendar.leapdays(2000, 2000 + abs(v))", "count the leap years from 2000 up to but excluding 2000 plus its absolute value", family="dates", api="calendar"),
    # builtin edge cases
    Op("first_negative", "list[int]", "int", "next((x for x in v if x < 0), 0)", "take the first negative element (0 if there is none)", edge="missing", example=("[1, 2]", "0")),
    Op("index_above", "list[int]", "int", "next((i for i, x in enumerate(v) if x > {c}), -1)", "find the position of the first element greater than {c} (-1 if there is none)", (0, 30), edge="missing", example=("[]", "-1")),
    Op("last_or", "list[int]", "int", "v[-1] if v else {c}", "take the last element ({c} for an empty list)", (-1, 0), edge="empty", example=("[]", "{c}")),
    Op("sign", "int", "int", "(v > 0) - (v < 0)", "take its sign: -1, 0 or 1", edge="zero", example=("0", "0")),
    Op("div_to_zero", "int", "int", "-(-v // {c}) if v < 0 else v // {c}", "divide by {c}, rounding towards zero", (2, 6), edge="negative", example=("-{c}", "-1")),
    Op("first_word", "list[str]", "str", "min(v) if v else ''", "take the alphabetically first string ('' for an empty list)", edge="empty", example=("[]", "''")),
    Op("key_of_min", "dict[str, int]", "str", "min(sorted(v), key=v.get) if v else ''", "take the key with the smallest value (the alphabetically first among ties; '' for an empty dictionary)", edge="ties", example=("{'b': 1, 'a': 1}", "'a'")),
    Op("last_word", "str", "str", "v.split()[-1] if v.split() else ''", "take its last space-separated word ('' if it has none)", edge="empty", example=("'  '", "''")),
    Op("pair_mod", "tuple[int, int]", "int", "v[0] % v[1] if v[1] else v[0]", "take the remainder of the first number divided by the second, with the sign of the second (the first number itself when the second is 0)", edge="zero", example=("(5, 0)", "5")),
]
OPS += STDLIB_OPS

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

MAKES_STDLIB = {
    "max_count": {"nonneg", "small"}, "run_lengths": {"nonneg"}, "pairs_summing": {"nonneg", "small"},
    "rank_of": {"nonneg", "small"}, "count_within": {"nonneg", "small"}, "grade": {"nonneg", "small"},
    "isqrt": {"nonneg"}, "factorial_mod": {"nonneg"}, "choose": {"nonneg"}, "gcd_with": {"nonneg"},
    "lcm_with": {"nonneg"}, "gcd_all": {"nonneg"}, "product_mod": {"nonneg"}, "pair_gcd": {"nonneg"},
    "pair_norm": {"nonneg"}, "month_days": {"nonneg"}, "weekday": {"nonneg", "small"},
    "leap_days": {"nonneg", "small"}, "word_count": {"nonneg", "small"},
    "longest_a_run": {"nonneg", "small"}, "sign": {"small"},
}
for name, facts in MAKES_STDLIB.items():
    MAKES.setdefault(name, set()).update(facts)
for name in ("largest_n", "smallest_n", "last_n", "take_while", "drop_while", "squeeze", "below"):
    KEEPS[name] = {"nonneg"}
AVOID["first_negative"] = {"nonneg"}
# "narrow": a handful of values (a month's days, a grade, a sign); "upper": no lower-case
# letters; "no_a"/"no_e": without that letter; "short": at most a few elements;
# "coprime": a reduced fraction's pair.
for name in ("month_days", "grade", "sign"):
    MAKES[name].add("narrow")
for name in ("upper", "upper_words", "capitalize_words"):
    MAKES.setdefault(name, set()).add("upper")
for name in ("replace", "star_vowels", "upper"):
    MAKES.setdefault(name, set()).add("no_a")
for name in ("key_of_max", "key_of_min"):
    MAKES.setdefault(name, set()).add("no_e")
MAKES["last_n"] = {"short"}
MAKES["reduce_pair"] = {"coprime"}
MAKES.setdefault("pair_ceil_div", set()).add("small")
for name in ("isqrt", "factorial_mod", "leap_days", "month_days", "weekday", "lcm_with"):
    AVOID[name] = {"narrow"}
AVOID["grade"] = {"small", "nonneg", "narrow"}
AVOID["sign"] = {"nonneg", "narrow"}
AVOID["div_to_zero"] = {"small", "narrow"}
AVOID["pairs_summing"] = {"nonneg", "short"}
AVOID["only_abc"] = {"no_letters", "upper", "no_e"}
AVOID["letters_only"] = {"no_letters"}
for name in ("range", "leap_year"):
    AVOID[name] = AVOID.get(name, set()) | {"narrow"}
MAKES.setdefault("abcd_words", set()).add("no_e")
AVOID["abcd_words"] = {"upper"}
AVOID["pair_gcd"] = {"coprime"}
for name in ("count_a", "longest_a_run"):
    AVOID[name] = AVOID.get(name, set()) | {"no_a"}
AVOID["find_e"] = AVOID.get("find_e", set()) | {"no_e"}
for name in ("star_vowels", "vowel_runs", "split_ae", "word_count", "longest_a_run", "mirror_letters",
             "capitalize_words", "top_char"):
    AVOID[name] = {"no_letters"}

OPS_FROM: dict[str, list[Op]] = {}
for _op in OPS:
    OPS_FROM.setdefault(_op.src, []).append(_op)

TYPE_WORDS = {"int": "integer", "str": "string", "bool": "boolean", "list[int]": "list of integers",
              "list[str]": "list of strings", "dict[str, int]": "dictionary", "tuple[int, int]": "pair"}


OPS_BY_NAME = {op.name: op for op in OPS}
FAMILIES = tuple(sorted({op.family for op in OPS}))
APIS = tuple(sorted({op.api for op in OPS}))
EDGES = tuple(sorted({op.edge for op in OPS} - {""}))


def imports_of(ops: Iterable[Op]) -> list[str]:
    """The `import` lines a reference made of `ops` needs, sorted."""
    return [f"import {api}" for api in sorted({op.api for op in ops} - {"builtin"})]
