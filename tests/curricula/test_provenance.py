from zeroplay.curricula.provenance import provenance_report
from zeroplay.curricula.store import Sample
from zeroplay.curricula.task import Provenance

from .conftest import make_task


def test_synthetic_store_passes(store):
    with store.transaction():
        store.add_task(make_task(1))
        store.add_task(make_task(2, origin="policy"))
        store.add_sample(Sample("s", 1, "solver", None, Provenance.policy("t", 1, ())))
    report = provenance_report(store)
    assert report["passed"]
    assert report["tasks"]["by_origin"] == {"seed-synth": 1, "policy": 1}
    assert report["samples"]["by_role"] == {"solver": 1}


def test_injected_real_world_task_and_sample_fail_by_name(store):
    bad = make_task(3, origin="human-written")
    with store.transaction():
        store.add_task(make_task(1))
        store.add_task(bad)
        store.add_sample(Sample("web-1", 1, "sft", None, Provenance("web-scrape", "t")))
    report = provenance_report(store)
    assert not report["passed"]
    assert report["offenders"]["tasks"] == [bad.id]
    assert report["offenders"]["samples"] == ["web-1"]
