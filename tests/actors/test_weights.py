"""Bucketing of a state dict for the weight broadcast (the broadcast itself is tested
between real Ray actors in test_ray_actors.py)."""

import torch

from zeroplay.actors.weights import bucket_layout


def test_buckets_hold_one_dtype_and_stay_under_the_size_bound():
    state = {"a": torch.zeros(100), "b": torch.zeros(100), "c": torch.zeros(300),
             "half": torch.zeros(10, dtype=torch.bfloat16), "steps": torch.arange(3)}
    layout = bucket_layout(state, bucket_bytes=800)  # two 400-byte tensors per bucket
    names = [[t.name for t in bucket] for bucket in layout]
    assert names == [["a", "b"], ["c"], ["half"], ["steps"]]
    for bucket in layout:
        assert len({t.dtype for t in bucket}) == 1
        assert len(bucket) == 1 or sum(4 * t.shape[0] for t in bucket) <= 800
    assert layout[0][0].shape == (100,) and layout[2][0].dtype == "bfloat16"
    assert sorted(t.name for bucket in layout for t in bucket) == sorted(state)
