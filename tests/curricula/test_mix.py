"""The corpus mix: weights and edge share as drawn, exclusions, config errors, and held-out
splits that stay put under any mix."""

from collections import Counter

import pytest
from typer.testing import CliRunner

from zeroplay.config import load_config
from zeroplay.corpus.catalogue import INPUTS, OPS_FROM
from zeroplay.corpus.mix import UNIFORM, Mix
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.synth import synthesize, synthesize_one, task_seed
from zeroplay.curricula.task import ops_of
from zeroplay.errors import ConfigError
from zeroplay.launch.cli import app

DRAWS = 4000
# One draw's share has a standard error of at most sqrt(0.25 / 4000) = 0.008: 0.03 is
# more than 3.5 of them.
TOLERANCE = 0.03


def _draws(mix: Mix, max_ops: int = 1):
    return [synthesize_one(task_seed(5, i, "mix-test"), max_ops, mix=mix)[0]
            for i in range(DRAWS)]


def _families(draft) -> set[str]:
    return {tag.split(":", 1)[1] for tag in draft.tags if tag.startswith("family:")}


def test_input_types_and_operations_are_drawn_by_their_weights():
    mix = Mix(families={"strings": 5, "regex": 0})
    drafts = _draws(mix)
    weights = {src: mix.input_weight(src) for src in INPUTS}
    total = sum(weights.values())
    kinds = Counter(d.kind.split("->")[0] for d in drafts)
    for src, weight in weights.items():
        assert abs(kinds[src] / DRAWS - weight / total) < TOLERANCE, src
    on_str = [d for d in drafts if d.kind.startswith("str->")]
    expected = sum(mix.weight(op) for op in OPS_FROM["str"] if op.family == "strings") / \
        sum(mix.weight(op) for op in OPS_FROM["str"])
    share = sum("strings" in _families(d) for d in on_str) / len(on_str)
    assert abs(share - expected) < 2 * TOLERANCE  # about a third of the draws


def test_an_excluded_family_or_api_never_appears():
    drafts = synthesize(1500, seed=2, max_ops=3, mix=Mix(families={"dates": 0},
                                                          apis={"heapq": 0}))
    assert len(drafts) == 1500
    assert not any("family:dates" in d.tags or "api:heapq" in d.tags for d in drafts)
    assert not any("import heapq" in d.reference for d in drafts)


def test_an_emphasized_family_at_least_doubles_its_share():
    def share(mix):
        return sum("family:strings" in d.tags for d in synthesize(1500, 3, 3, mix=mix)) / 1500
    assert share(Mix(families={"strings": 5})) >= 2 * share(UNIFORM)


@pytest.mark.parametrize("edge_share", [0.0, 0.5, 1.0])
def test_edge_share_is_the_share_of_tasks_with_an_edge_case(edge_share):
    drafts = _draws(Mix(edge_share=edge_share), max_ops=3)
    with_edge = [d for d in drafts if any(t.startswith("edge:") for t in d.tags)]
    assert abs(len(with_edge) / DRAWS - edge_share) < TOLERANCE
    for draft in with_edge if edge_share else ():  # the edge is the first operation's
        first = ops_of(draft.tags)[0]
        assert any(t.startswith("edge:") for t in synthesize_one(
            draft.provenance.seed, 1, combo=(first,))[0].tags)


def test_the_uniform_mix_draws_what_the_synthesizer_always_drew():
    """A mix of all ones (and no edge share) takes the same random path as no mix."""
    weighted_ones = Mix(families={"lists": 1})
    assert [d.id for d in synthesize(300, 4, 3, mix=weighted_ones)] == \
        [d.id for d in synthesize(300, 4, 3)]


def test_held_out_splits_ignore_the_mix():
    mix = Mix(families={"strings": 5, "lists": 0})
    for split in ("heldout-unseen",):
        assert [d.id for d in synthesize(200, 1, 3, split=split, mix=mix)] == \
            [d.id for d in synthesize(200, 1, 3, split=split)]


def test_unknown_names_and_bad_weights_are_config_errors():
    with pytest.raises(ConfigError, match="unknown family 'sorting'.*known: arithmetic"):
        load_config(None, ['curriculum.mix.families={"sorting": 2}'])
    with pytest.raises(ConfigError, match="unknown API 'numpy'.*known: bisect"):
        load_config(None, ['curriculum.mix.apis={"numpy": 2}'])
    with pytest.raises(ConfigError, match=">= 0"):
        load_config(None, ['curriculum.mix.families={"strings": -1}'])
    with pytest.raises(ConfigError, match="excludes every operation"):
        load_config(None, ['curriculum.mix.apis={"builtin": 0, "math": 0, "re": 0, '
                           '"collections": 0, "itertools": 0, "heapq": 0, "bisect": 0, '
                           '"functools": 0, "operator": 0, "statistics": 0, "fractions": 0, '
                           '"string": 0, "textwrap": 0, "calendar": 0}'])
    with pytest.raises(ConfigError, match="no mix named 'nope'; named mixes: .*rare-apis"):
        load_config(None, ["curriculum.mix=nope"])


def test_a_broken_mix_file_is_a_one_line_config_error(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("families: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml cannot be read as YAML"):
        load_config(None, [f"curriculum.mix={broken}"])
    broken.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(None, [f"curriculum.mix={broken}"])


def test_named_mixes_load():
    for name in ("uniform", "rare-apis", "edge-cases", "strings"):
        mix = load_config(None, [f"curriculum.mix={name}"]).curriculum.mix
        assert mix.name == name
    assert load_config(None, ["curriculum.mix=uniform"]).curriculum.mix.to_mix().uniform


def test_a_mix_without_operations_for_an_input_type_skips_it():
    mix = Mix(families={"pairs": 0, "numbers": 0, "fractions": 0})
    assert mix.skipped_inputs() == ["tuple[int, int]"]
    drafts = synthesize(500, 0, 3, mix=mix)
    assert not any(d.kind.startswith("tuple[int, int]") for d in drafts)


@pytest.mark.docker
def test_seed_with_a_mix_keeps_the_heldout_tasks_of_the_uniform_mix(tmp_path, sandbox_image):
    """`zeroplay curriculum seed`, through the real sandbox: one family weighs 5 and
    another is excluded; the held-out tasks are exactly the uniform mix's."""
    runner = CliRunner()
    stores = {}
    for name, sets in (("uniform", []), ("mixed", ["--set", 'curriculum.mix.families='
                                                   '{"strings": 5, "dicts": 0}'])):
        out = tmp_path / name
        result = runner.invoke(app, ["curriculum", "seed", "--out", str(out), "--n", "150",
                                     "--heldout", "60", "--seed", "4", *sets])
        assert result.exit_code == 0, result.output
        assert "training tasks by family" in result.output
        with CurriculumStore.open(out / "curriculum.sqlite", readonly=True) as store:
            stores[name] = {split: store.tasks(status="valid", split=split)
                            for split in ("train", "heldout-seen", "heldout-unseen")}
    for split in ("heldout-seen", "heldout-unseen"):
        assert {t.id for t in stores["mixed"][split]} == {t.id for t in stores["uniform"][split]}
    train = {name: s["train"] for name, s in stores.items()}
    assert not any("family:dicts" in t.tags for t in train["mixed"])

    def share(tasks):
        return sum("family:strings" in t.tags for t in tasks) / len(tasks)
    assert share(train["mixed"]) >= 2 * share(train["uniform"])
    heldout_ids = {t.id for s in ("heldout-seen", "heldout-unseen") for t in stores["mixed"][s]}
    assert not heldout_ids & {t.id for t in train["mixed"]}


def test_composition_counts_each_task_once_per_family_and_shows_the_targets():
    from zeroplay.curricula.stats import composition, composition_rows, mix_targets

    drafts = synthesize(400, 6, 3)
    shares = composition(drafts)
    for family, share in shares["family"].items():
        assert share == sum(f"family:{family}" in d.tags for d in drafts) / len(drafts)
    assert shares["edge"]["any"] == sum(any(t.startswith("edge:") for t in d.tags)
                                        for d in drafts) / len(drafts)
    targets = mix_targets(Mix(edge_share=1.0), 3)
    assert targets["edge"]["any"] == 1.0
    rows = composition_rows(shares, targets)
    assert ("edge", "any", f"{shares['edge']['any']:.1%}", "100.0%") in rows
