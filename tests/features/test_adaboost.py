import math

import pytest
import torch

from pixlearn.features.adaboost import best_stump, boosted_stage


def _slow_best_stump(x, w, y):
    """Every feature, every threshold between distinct sorted values, both polarities."""
    best = (math.inf, None)
    for f in range(x.shape[1]):
        v = x[:, f].unique()  # sorted distinct values
        cuts = torch.cat([(v[1:] + v[:-1]) / 2, v[-1:] + 1e-3])
        for thr in cuts.tolist():
            for pol in (1, -1):
                h = (pol * x[:, f] < pol * thr).double()
                err = float((w * (h != y).double()).sum())
                if err < best[0] - 1e-12:
                    best = (err, (f, thr, pol))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_stump_equals_an_exhaustive_search(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 6, (30, 4), generator=g).float()  # many ties
    y = (torch.rand(30, generator=g) < 0.4).double()
    w = torch.rand(30, generator=g, dtype=torch.float64)
    w = w / w.sum()
    vs, order = x.T.sort(1)
    f, thr, pol, err = best_stump(vs, order, w, y)
    ref_err, _ = _slow_best_stump(x, w, y)
    assert err == pytest.approx(ref_err, abs=1e-12)
    # the returned stump really has that error
    h = (pol * x[:, f] < pol * thr).double()
    assert float((w * (h != y).double()).sum()) == pytest.approx(err, abs=1e-12)


def test_stage_meets_its_detection_target_and_stops_at_the_false_positive_target():
    g = torch.Generator().manual_seed(0)
    y = (torch.rand(400, generator=g) < 0.5).long()
    x = torch.randn(400, 20, generator=g) + y[:, None] * torch.linspace(0, 1.5, 20)
    st = boosted_stage(x, y, max_features=30, detection_rate=0.99, false_positive_rate=0.3)
    h = (st["polarity"] * x[:, st["feature"]] < st["polarity"] * st["threshold"]).double()
    accept = h @ st["alpha"] >= st["stage_threshold"]
    assert accept[y == 1].double().mean() >= 0.99
    assert accept[y == 0].double().mean() <= 0.3
    assert 1 <= len(st["alpha"]) < 30  # stopped early: the target was reached
    assert bool((st["alpha"] > 0).all())


def test_threshold_slack_lowers_the_stage_threshold_by_a_fraction_of_the_votes():
    g = torch.Generator().manual_seed(1)
    y = (torch.rand(300, generator=g) < 0.5).long()
    x = torch.randn(300, 10, generator=g) + y[:, None]
    kw = {"max_features": 5, "detection_rate": 0.95, "false_positive_rate": 0.0}
    plain = boosted_stage(x, y, **kw)
    slack = boosted_stage(x, y, threshold_slack=0.1, **kw)
    assert torch.equal(plain["alpha"], slack["alpha"])  # same stumps (the target is unreachable)
    expected = plain["stage_threshold"] - 0.1 * float(plain["alpha"].sum())
    assert slack["stage_threshold"] == pytest.approx(expected, abs=1e-12)
