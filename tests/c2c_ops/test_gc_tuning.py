"""Web workers freeze what outlives every request, so full collections stay short."""

import gc

import pytest

from c2c_ops import gc_tuning


@pytest.fixture
def collector(monkeypatch):
    before = gc.get_threshold()
    monkeypatch.setattr(gc_tuning, "_served", 0)
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_a_loaded_worker_freezes_what_it_holds(collector):
    gc_tuning.settle()
    assert gc.get_freeze_count() > 10_000  # Django and the app, out of the collector's walk
    assert gc.get_threshold() == gc_tuning.THRESHOLD


def test_the_warm_state_is_frozen_once(collector, monkeypatch):
    freezes = []
    monkeypatch.setattr(gc_tuning.gc, "freeze", lambda: freezes.append(1))
    for _ in range(gc_tuning.WARM_AFTER * 2):
        gc_tuning.request_done()
    assert freezes == [1]
