import pytest
import torch
from torch.utils.data import DataLoader

from pixlearn.cli.run import TASK_NAMES as CLI_TASKS
from pixlearn.engine import TASK_NAMES, get_task, implemented_tasks, register_task, run
from pixlearn.engine.tasks.classify import ClassifyTask, random_affine
from pixlearn.engine.trainer import EpochSampler, make_loader


def test_only_classify_is_implemented_and_others_say_so():
    assert implemented_tasks() == ["classify"]
    assert get_task("classify") is ClassifyTask
    assert CLI_TASKS == TASK_NAMES
    for name in ("segment", "detect", "generate", "restore"):
        with pytest.raises(NotImplementedError, match=f"{name}.*not implemented yet.*classify"):
            get_task(name)
        with pytest.raises(NotImplementedError, match=r"implemented: classify"):
            run(name, "train", {})
    with pytest.raises(ValueError, match=r"task must be one of classify"):
        get_task("track")
    with pytest.raises(ValueError, match=r"name must be one of"):
        register_task("track")


def test_unknown_mode():
    with pytest.raises(ValueError, match=r"mode must be one of train, val, predict, export"):
        run("classify", "fit", {})


@pytest.mark.parametrize("world", [1, 2, 4])
def test_sampler_processes_share_each_global_batch(world):
    n, batch, epoch = 50, 8, 3
    parts = []
    for rank in range(world):
        s = EpochSampler(n, batch, shuffle=True, seed=5, rank=rank, world=world, drop_last=True)
        s.set_epoch(epoch)
        parts.append(list(s))
        assert len(parts[-1]) == len(s)
    single = EpochSampler(n, batch, shuffle=True, seed=5, drop_last=True)
    single.set_epoch(epoch)
    order, per = list(single), batch // world
    assert len(order) == (n // batch) * batch
    for b in range(n // batch):  # the union of the slices is the single-process batch
        joined = [i for p in parts for i in p[b * per : (b + 1) * per]]
        assert joined == order[b * batch : (b + 1) * batch]


def test_sampler_order_depends_only_on_seed_and_epoch():
    def order(seed, epoch):
        s = EpochSampler(30, 4, shuffle=True, seed=seed, drop_last=True)
        s.set_epoch(epoch)
        return list(s)

    assert order(0, 1) == order(0, 1)
    assert order(0, 1) != order(0, 2)
    assert order(0, 1) != order(1, 1)
    assert len(set(order(0, 1))) == len(order(0, 1))  # no repeats


def test_evaluation_sampler_sees_every_item_once():
    seen = []
    for rank in range(3):
        s = EpochSampler(11, 4, shuffle=False, rank=rank, world=3)
        seen += list(s)
        assert len(list(s)) == len(s)
    assert sorted(seen) == list(range(11))


def test_loader_batches_are_per_process():
    ds = torch.utils.data.TensorDataset(torch.arange(20.0))
    from pixlearn.engine.tasks.classify import ClassifyConfig

    cfg = ClassifyConfig(batch=8)
    loader = make_loader(ds, cfg, train=True, rank=1, world=2)
    assert isinstance(loader, DataLoader)
    assert [len(b[0]) for b in loader] == [4, 4]


def test_random_affine_is_seeded_and_identity_at_zero():
    x = torch.rand(3, 2, 12, 12, dtype=torch.float64)
    a = random_affine(x, generator=torch.Generator().manual_seed(1))
    b = random_affine(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.allclose(a, x)
    same = random_affine(x, degrees=0.0, scale=(1.0, 1.0), shift=0.0)
    torch.testing.assert_close(same, x, atol=1e-12, rtol=0)
    assert random_affine(x[:0]).shape == (0, 2, 12, 12)
