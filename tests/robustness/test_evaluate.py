import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from pixlearn.robustness import fgsm, robust_accuracy


def _setup():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 4))
    x = torch.rand(37, 1, 4, 4)
    y = torch.randint(0, 4, (37,))
    return model, x, y


def _accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def test_clean_and_attacked_accuracy_equal_a_direct_count():
    model, x, y = _setup()
    assert robust_accuracy(model, (x, y), None, batch_size=5) == pytest.approx(
        _accuracy(model, x, y), abs=1e-6
    )
    adv = fgsm(model, x, y, 0.2)
    assert robust_accuracy(model, (x, y), "fgsm", eps=0.2, batch_size=8) == pytest.approx(
        _accuracy(model, adv, y), abs=1e-6
    )
    assert robust_accuracy(model, (x, y), "fgsm", eps=0.2) <= robust_accuracy(model, (x, y), None)


def test_tensors_dataset_and_loader_agree_and_custom_attacks_work():
    model, x, y = _setup()
    pair = robust_accuracy(model, (x, y), "fgsm", eps=0.1)
    ds = TensorDataset(x, y)
    assert robust_accuracy(model, ds, "fgsm", eps=0.1, batch_size=7) == pair
    assert robust_accuracy(model, DataLoader(ds, batch_size=10), "fgsm", eps=0.1) == pair
    assert robust_accuracy(model, [(x[:20], y[:20]), (x[20:], y[20:])], fgsm, eps=0.1) == pair

    def blackout(model, images, labels, *, value):
        return torch.full_like(images, value)

    expected = _accuracy(model, torch.zeros_like(x), y)
    assert robust_accuracy(model, (x, y), blackout, value=0.0) == pytest.approx(expected)


def test_pgd_by_name_and_model_mode_restored():
    model, x, y = _setup()
    model.train()
    g = torch.Generator().manual_seed(0)
    acc = robust_accuracy(model, (x, y), "pgd", eps=0.1, alpha=0.05, steps=3, generator=g)
    assert 0.0 <= acc <= robust_accuracy(model, (x, y), None) and model.training


def test_errors_name_the_argument():
    model, x, y = _setup()
    with pytest.raises(ValueError, match="attack must be one of 'fgsm', 'pgd'"):
        robust_accuracy(model, (x, y), "cw")
    with pytest.raises(TypeError, match="attack must be a name"):
        robust_accuracy(model, (x, y), 3)
    with pytest.raises(ValueError, match="data must pair N images with N labels"):
        robust_accuracy(model, (x, y[:5]), None)
    with pytest.raises(ValueError, match="data must hold at least one example"):
        robust_accuracy(model, (x[:0], y[:0]), None)
    with pytest.raises(TypeError, match="data must be"):
        robust_accuracy(model, 5, None)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        robust_accuracy(model, (x, y), None, batch_size=0)
    with pytest.raises(TypeError, match="model must be"):
        robust_accuracy("model", (x, y), None)
