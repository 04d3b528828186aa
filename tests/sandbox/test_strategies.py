"""The strategy DSL: whitelisted, literal-only, capped, seeded, never eval'd."""

import re

import pytest

from zeroplay.sandbox.strategies import StrategyError, draw_inputs, parse_strategy


@pytest.mark.parametrize(
    ("text", "arity"),
    [
        ("st.integers()", 1),
        ("st.integers(-5, 5), st.integers(min_value=0)", 2),
        ("st.floats(allow_nan=False, allow_infinity=False)", 1),
        ("st.floats(-1.5, 2.5, exclude_min=True)", 1),
        ("st.booleans(), st.none()", 2),
        ("st.just(3), st.sampled_from(['a', 'b']), st.sampled_from((1, 2))", 3),
        ("st.text(), st.text('abc', min_size=1, max_size=5)", 2),
        ("st.text(alphabet=st.characters(codec='ascii', categories=['L']))", 1),
        ("st.characters(min_codepoint=97, max_codepoint=122)", 1),
        ("st.lists(st.integers(), unique=True), st.sets(st.booleans())", 2),
        ("st.frozensets(st.integers(0, 9), max_size=3)", 1),
        ("st.dictionaries(st.text(max_size=2), st.lists(st.integers()))", 1),
        ("st.tuples(st.integers(), st.text()), st.one_of(st.none(), st.integers())", 2),
        ("(st.integers(), st.integers())", 2),
        ("st.integers(-10**0, 1)", None),
    ],
)
def test_accepted(text, arity):
    if arity is None:  # arithmetic is not a literal
        with pytest.raises(StrategyError, match="must be a literal"):
            parse_strategy(text)
        return
    spec = parse_strategy(text)
    assert spec.arity == arity
    assert draw_inputs(spec, 5, seed=1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty strategy"),
        ("   ", "empty strategy"),
        ("st.integers(", "not a Python expression"),
        ("__import__('os').system('true')", "only st.<name>(...) calls"),
        ("st.builds(int)", "st.builds is not allowed"),
        ("st.from_type(int)", "st.from_type is not allowed"),
        ("hypothesis.strategies.integers()", "only st.<name>(...) calls"),
        ("st.integers().map(abs)", "only st.<name>(...) calls"),
        ("st.integers().filter(bool)", "only st.<name>(...) calls"),
        ("st.lists(st.integers(), unique_by=abs)", "no argument 'unique_by'"),
        ("st.integers(min_value=len('ab'))", "must be a literal"),
        ("st.integers(min_value=x)", "must be a literal"),
        ("st.sampled_from([open])", "must be a literal"),
        ("st.sampled_from([])", "non-empty list"),
        ("st.integers(**{'min_value': 1})", "** arguments"),
        ("st.integers(1, 2, 3)", "at most 2 positional"),
        ("st.integers(5, 1)", "max_value=1 < min_value=5"),
        ("st.lists(1)", "must be a strategy"),
        ("st.lists(st.integers(), min_size=1000)", "above the size cap"),
        ("st.lists(st.integers(), max_size=-1)", "non-negative int"),
        ("st.one_of()", "at least one strategy"),
        ("st.tuples(st.integers(), x=1)", "no keyword arguments"),
        ("1, 2", "expected an st.* call"),
        ("lambda: st.integers()", "expected an st.* call"),
        ("st.integers(b'1')", "cannot be a bytes"),
        ("st.lists(" * 12 + "st.integers()" + ")" * 12, "nested deeper"),
        ("st.integers()," * 1000, "longer than"),
        ("st.floats(min_value=" + "1" * 401 + ")", "too large to convert to float"),
        ("st.floats(0, " + "9" * 401 + ")", "too large to convert to float"),
    ],
)
def test_rejected_with_reason(text, reason):
    with pytest.raises(StrategyError, match=re.escape(reason)):
        parse_strategy(text)


def test_strategy_text_is_never_evaluated(tmp_path):
    marker = tmp_path / "pwned"
    attempts = [
        f"st.integers(min_value=__import__('os').system('touch {marker}'))",
        f"st.sampled_from([__import__('pathlib').Path('{marker}').touch()])",
        f"st.just(open('{marker}', 'w'))",
    ]
    for text in attempts:
        with pytest.raises(StrategyError):
            parse_strategy(text)
    assert not marker.exists()


def test_sizes_are_capped_by_config():
    spec = parse_strategy("st.lists(st.integers(), min_size=2), st.text(max_size=1000)",
                          max_collection_size=4)
    for xs, s in draw_inputs(spec, 50, seed=0):
        assert 2 <= len(xs) <= 4
        assert len(s) <= 4


def test_drawing_is_reproducible_per_seed():
    spec = parse_strategy("st.lists(st.integers(-100, 100), max_size=20), st.integers(0, 5)")
    first = draw_inputs(spec, 30, seed=7)
    assert first == draw_inputs(spec, 30, seed=7)
    assert first != draw_inputs(spec, 30, seed=8)
    assert len(first) == 30
    assert len({repr(x) for x in first}) == 30  # distinct


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_draws_reach_the_edges_of_every_range(seed):
    """Hypothesis' own draws rarely reach a range's largest sizes or its bounds; the hidden
    tests must, or a solution wrong only there would be rewarded."""
    lists = [xs for (xs, _) in draw_inputs(parse_strategy(
        "st.lists(st.integers(-50, 50), max_size=16), st.text('ab', max_size=12)"), 30, seed)]
    assert max(map(len, lists)) == 16 and [] in lists
    assert any(50 in xs for xs in lists) and any(-50 in xs for xs in lists)
    texts = [t for (_, t) in draw_inputs(parse_strategy(
        "st.lists(st.integers(-50, 50), max_size=16), st.text('ab', max_size=12)"), 30, seed)]
    assert max(map(len, texts)) == 12 and "" in texts
    ints = [n for (n,) in draw_inputs(parse_strategy("st.integers(-60, 60)"), 30, seed)]
    assert {-60, 60} <= set(ints)


def test_an_edge_no_strategy_can_reach_is_skipped():
    spec = parse_strategy("st.lists(st.integers(0, 3), unique=True, max_size=20)")
    drawn = draw_inputs(spec, 30, seed=0)  # 20 unique values from 4: the long edge fails
    assert drawn and max(len(xs) for (xs,) in drawn) <= 4


def test_small_spaces_give_fewer_inputs():
    assert sorted(draw_inputs(parse_strategy("st.booleans()"), 30, seed=0)) == [(False,), (True,)]


@pytest.mark.parametrize(
    "text",
    ["st.sets(st.lists(st.integers()))",
     "st.frozensets(st.sets(st.integers()), min_size=1)",
     "st.dictionaries(st.lists(st.integers()), st.integers(), min_size=1)"],
)
def test_unhashable_set_items_and_dict_keys_are_a_strategy_error(text):
    spec = parse_strategy(text)  # Hypothesis only finds out while drawing
    with pytest.raises(StrategyError, match="unhashable"):
        draw_inputs(spec, 30, seed=0)
