"""benchmarks/proposer_warmstart.py: the variants it trains, written as NAME:KEY=VALUE."""

import proposer_warmstart
import pytest


def test_a_variant_gets_its_values_and_defaults_for_the_rest():
    name, values = proposer_warmstart.parse_variant("p500-k1:steps=500,solver=1,k=1")
    assert name == "p500-k1"
    assert values == {"steps": 500, "k": 1, "solver": 1.0, "lr": 3e-3, "temp": None}
    assert proposer_warmstart.parse_variant("none")[1]["steps"] == 0
    assert proposer_warmstart.parse_variant("cool:steps=600,temp=0.6")[1]["temp"] == 0.6


@pytest.mark.parametrize("text", ["p:stesp=3", "p:k=one"])
def test_a_misspelt_key_or_a_bad_value_is_an_error(text):
    with pytest.raises(ValueError):
        proposer_warmstart.parse_variant(text)
