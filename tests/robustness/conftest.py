import pytest
import torch
import torch.nn.functional as F

from pixlearn.data import load_dataset
from pixlearn.models import create_model


def _stack(split):
    ds = load_dataset("digits", split)
    images = torch.stack([ds[i][0] for i in range(len(ds))])  # (N, 1, 32, 32)
    labels = torch.tensor([ds[i][1] for i in range(len(ds))])  # (N,)
    return images, labels


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core machine, two OpenMP threads for such small
    layers wait on each other and a test runs many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits_test():
    return _stack("test")


@pytest.fixture(scope="session")
def lenet_digits():
    """LeNet-5 trained on the digits train split by a plain seeded loop (about 2 s), on one
    thread (see ``one_thread``; a session fixture is set up before the autouse one)."""
    x, y = _stack("train")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(x, y)
    finally:
        torch.set_num_threads(threads)


def _train(x, y):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = create_model("lenet5", num_classes=10, in_chans=1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    epochs, batch = 10, 32
    steps = epochs * -(-len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    g = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()
