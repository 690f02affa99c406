import math

import pytest
import torch

from pixlearn.features.adaboost import _tie_mask, best_regression_stump, best_stump, boosted_stage


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


def _slow_regression_stump(x, w, t):
    """Gentle AdaBoost's weak learner by brute force: every split between distinct values, the
    weighted mean of the targets on each side, the least weighted squared error."""
    best = (math.inf, None)
    for f in range(x.shape[1]):
        v = x[:, f].unique()
        for thr in ((v[1:] + v[:-1]) / 2).tolist():
            below = x[:, f] < thr
            a = float((w * t)[below].sum() / w[below].sum())
            b = float((w * t)[~below].sum() / w[~below].sum())
            err = float((w * (t - torch.where(below, a, b)) ** 2).sum())
            if err < best[0] - 1e-12:
                best = (err, (f, thr, a, b))
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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_regression_stump_equals_an_exhaustive_search(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 6, (30, 4), generator=g).double()  # many ties
    t = (torch.rand(30, generator=g) < 0.4).double() * 2 - 1
    w = torch.rand(30, generator=g, dtype=torch.float64)
    w = w / w.sum()
    vs, order = x.T.sort(1)
    f, thr, a, b = best_regression_stump(vs, order, w, t, ties=_tie_mask(vs))
    ref_err, _ = _slow_regression_stump(x, w, t)
    below = x[:, f] < thr
    err = float((w * (t - torch.where(below, a, b)) ** 2).sum())
    assert err == pytest.approx(ref_err, abs=1e-12)
    assert a == pytest.approx(float((w * t)[below].sum() / w[below].sum()), abs=1e-12)
    assert b == pytest.approx(float((w * t)[~below].sum() / w[~below].sum()), abs=1e-12)


def test_gentle_stage_equals_a_slow_gentle_adaboost():
    """Each round: the least-squares regression stump, w <- w exp(-y f(x)), renormalised; the
    stage keeps the stump as a vote |a - b| on the side of the larger answer."""
    g = torch.Generator().manual_seed(3)
    lab = (torch.rand(120, generator=g) < 0.5).long()
    x = (torch.randn(120, 6, generator=g, dtype=torch.float64) + lab[:, None]).round(decimals=3)
    st = boosted_stage(
        x, lab, max_features=6, detection_rate=0.95, false_positive_rate=0.0, boosting="gentle"
    )
    t = 2 * lab.double() - 1
    w = torch.where(lab.bool(), 0.5 / lab.sum(), 0.5 / (120 - lab.sum())).double()
    for k in range(6):
        w = w / w.sum()
        _, (f, thr, a, b) = _slow_regression_stump(x, w, t)
        assert int(st["feature"][k]) == f and float(st["threshold"][k]) == pytest.approx(thr)
        assert float(st["alpha"][k]) == pytest.approx(abs(a - b), abs=1e-10)
        assert float(st["polarity"][k]) == (1.0 if a >= b else -1.0)
        w = w * torch.exp(-t * torch.where(x[:, f] < thr, a, b))
    # the stage's threshold keeps 95 % of the positives, as for discrete AdaBoost
    h = (st["polarity"] * x[:, st["feature"]] < st["polarity"] * st["threshold"]).double()
    assert (h @ st["alpha"] >= st["stage_threshold"])[lab == 1].double().mean() >= 0.95
