import itertools

import pytest
import scipy.stats
import torch

from pixlearn.ops import BalancedSampler


def _random_matched(n, gen, p_pos=0.2, p_ign=0.2):
    u = torch.rand(n, generator=gen)
    idx = torch.randint(0, 5, (n,), generator=gen)
    return torch.where(u < p_pos, idx, torch.where(u < p_pos + p_ign, -2, -1))


@pytest.mark.parametrize(("batch", "fraction"), [(16, 0.25), (64, 0.5), (7, 1.0), (10, 0.0)])
def test_counts_and_categories(batch, fraction):
    gen = torch.Generator().manual_seed(0)
    sampler = BalancedSampler(batch, fraction)
    for n in [0, 1, 5, 30, 200]:
        for p_pos in (0.0, 0.1, 0.6):
            matched = [_random_matched(n, gen, p_pos) for _ in range(3)]
            pos, neg = sampler(matched, generator=gen)
            assert len(pos) == len(neg) == 3
            for m, pm, nm in zip(matched, pos, neg, strict=True):
                assert pm.dtype == nm.dtype == torch.bool and pm.shape == nm.shape == m.shape
                n_pos, n_neg = int((m >= 0).sum()), int((m == -1).sum())
                # n+ = min(P, floor(B f)),  n- = min(N, B - n+)
                want_pos = min(n_pos, int(batch * fraction))
                assert int(pm.sum()) == want_pos
                assert int(nm.sum()) == min(n_neg, batch - want_pos)
                assert int(pm.sum() + nm.sum()) <= batch
                assert bool((m[pm] >= 0).all()) and bool((m[nm] == -1).all())
                assert not bool((pm & nm).any()) and not bool(((pm | nm) & (m == -2)).any())


def test_negatives_fill_the_rest_when_positives_are_few():
    matched = [torch.tensor([3] + [-1] * 20 + [-2] * 5)]
    pos, neg = BalancedSampler(8, 0.5)(matched)
    assert int(pos[0].sum()) == 1 and int(neg[0].sum()) == 7


def test_seeded_generator_is_reproducible_and_seeds_differ():
    matched = [_random_matched(500, torch.Generator().manual_seed(1)) for _ in range(2)]
    sampler = BalancedSampler(32, 0.25)
    a = sampler(matched, generator=torch.Generator().manual_seed(5))
    b = sampler(matched, generator=torch.Generator().manual_seed(5))
    c = sampler(matched, generator=torch.Generator().manual_seed(6))
    for x, y in zip(a[0] + a[1], b[0] + b[1], strict=True):
        assert torch.equal(x, y)
    assert any(not torch.equal(x, y) for x, y in zip(a[1], c[1], strict=True))
    # the global generator is used when none is given
    torch.manual_seed(9)
    d = sampler(matched)
    torch.manual_seed(9)
    e = sampler(matched)
    assert all(torch.equal(x, y) for x, y in zip(d[0] + d[1], e[0] + e[1], strict=True))


def test_choice_is_uniform_per_index_and_per_subset():
    # 5 positives (choose 2 of them: floor(4 * 0.5)) and 6 negatives (choose 2)
    matched = [torch.tensor([0, -1, 1, -1, 2, -2, -1, 3, -1, 4, -1, -1])]
    sampler = BalancedSampler(4, 0.5)
    gen = torch.Generator().manual_seed(123)
    trials = 3000
    pos_subsets, neg_counts = {}, torch.zeros(12)
    for _ in range(trials):
        pos, neg = sampler(matched, generator=gen)
        key = tuple(pos[0].nonzero().flatten().tolist())
        pos_subsets[key] = pos_subsets.get(key, 0) + 1
        neg_counts += neg[0].double()
    # all C(5, 2) = 10 subsets of the positives, each with probability 1/10
    subsets = list(itertools.combinations([0, 2, 4, 7, 9], 2))
    assert set(pos_subsets) == set(subsets)
    observed = [pos_subsets[s] for s in subsets]
    assert scipy.stats.chisquare(observed).pvalue > 1e-3
    # each of the 6 negatives is chosen with probability 2/6; the ignored index never
    negatives = [1, 3, 6, 8, 10, 11]
    assert neg_counts[5] == 0 and neg_counts.sum() == 2 * trials
    assert scipy.stats.chisquare(neg_counts[negatives].tolist()).pvalue > 1e-3


def test_zero_batch_and_empty_list():
    matched = [torch.tensor([0, -1, -1])]
    pos, neg = BalancedSampler(0, 0.5)(matched)
    assert not pos[0].any() and not neg[0].any()
    assert BalancedSampler(4, 0.5)([]) == ([], [])


def test_non_contiguous_input_any_integer_dtype_and_input_not_modified():
    full = _random_matched(400, torch.Generator().manual_seed(2))
    view = full[::2]
    assert not view.is_contiguous()
    keep = full.clone()
    sampler = BalancedSampler(16, 0.25)
    a = sampler([view], generator=torch.Generator().manual_seed(0))
    b = sampler([view.contiguous().to(torch.int32)], generator=torch.Generator().manual_seed(0))
    assert torch.equal(a[0][0], b[0][0]) and torch.equal(a[1][0], b[1][0])
    assert torch.equal(full, keep)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((-1, 0.5), ValueError, "batch_size_per_image"),
        ((2.5, 0.5), TypeError, "batch_size_per_image"),
        ((8, 1.5), ValueError, "positive_fraction"),
        ((8, float("nan")), ValueError, "positive_fraction"),
    ],
)
def test_bad_options(args, exc, match):
    with pytest.raises(exc, match=match):
        BalancedSampler(*args)


def test_bad_inputs_name_the_entry():
    sampler = BalancedSampler(8, 0.5)
    ok = torch.tensor([0, -1])
    with pytest.raises(TypeError, match=r"matched_idxs"):
        sampler(ok)
    with pytest.raises(TypeError, match=r"matched_idxs\[1\].*integer"):
        sampler([ok, ok.float()])
    with pytest.raises(TypeError, match=r"matched_idxs\[0\].*Tensor"):
        sampler([[0, -1]])
    with pytest.raises(ValueError, match=r"matched_idxs\[1\].*\(N,\)"):
        sampler([ok, ok[None]])
    with pytest.raises(ValueError, match=r"matched_idxs\[0\].*-3"):
        sampler([torch.tensor([0, -3])])
    with pytest.raises(TypeError, match=r"generator"):
        sampler([ok], generator=0)
