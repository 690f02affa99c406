import pytest
import torch
from torch import nn

import pixlearn
from pixlearn._core.errors import DataFormatError
from pixlearn.engine.runs import (
    find_last_run,
    load_checkpoint,
    make_run_dir,
    model_state,
    plot_results,
    read_args,
    read_results,
    resolve_weights,
    save_weights,
    weights_metadata,
    write_args,
    write_results,
)


def test_auto_numbering_name_and_exist_ok(tmp_path):
    names = [make_run_dir(tmp_path, "classify", "train").name for _ in range(3)]
    assert names == ["train1", "train2", "train3"]
    assert make_run_dir(tmp_path, "classify", "val").name == "val1"
    (tmp_path / "classify" / "train9").mkdir()
    assert make_run_dir(tmp_path, "classify", "train").name == "train10"  # after the largest
    assert make_run_dir(tmp_path, "classify", "train", name="exp").name == "exp"
    assert make_run_dir(tmp_path, "classify", "train", name="exp").name == "exp2"
    again = make_run_dir(tmp_path, "classify", "train", name="exp", exist_ok=True)
    assert again == tmp_path / "classify" / "exp"


def test_args_and_results_round_trip(tmp_path):
    write_args(tmp_path, {"model": "lenet5", "lr": 0.01, "imgsz": None})
    assert read_args(tmp_path) == {"model": "lenet5", "lr": 0.01, "imgsz": None}
    rows = [{"epoch": 0.0, "train/loss": 1.5}, {"epoch": 1.0, "train/loss": 1.0, "val/acc": 0.5}]
    write_results(tmp_path / "results.csv", rows)
    back = read_results(tmp_path / "results.csv")
    assert back == rows
    assert plot_results(back, tmp_path / "results.png").stat().st_size > 1000
    with pytest.raises(FileNotFoundError, match=r"args.yaml"):
        read_args(tmp_path / "nothing")


def test_weights_hold_model_and_metadata(tmp_path):
    model = nn.Linear(3, 2)
    meta = weights_metadata(
        task="classify",
        model_name="tiny",
        model_args={"num_classes": 2},
        meta={"classes": ["a", "b"], "mean": [0.5], "std": [0.2]},
        epoch=3,
        metrics={"val/acc": 0.9},
    )
    path = save_weights(tmp_path / "run" / "weights" / "best.pt", model, meta)
    ckpt = load_checkpoint(tmp_path / "run")  # a run folder resolves to weights/best.pt
    info = ckpt["pixlearn"]
    assert info["version"] == pixlearn.__version__ and info["model"] == "tiny"
    assert info["classes"] == ["a", "b"] and info["mean"] == [0.5] and info["epoch"] == 3
    state = model_state(ckpt)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert resolve_weights(path) == path
    # a Lightning checkpoint keeps the model under the prefix "model."
    light = {"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}}
    assert set(model_state(light)) == {"weight", "bias"}


def test_bad_weights_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError, match=r"weights/best.pt"):
        resolve_weights(tmp_path)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DataFormatError, match=r"junk.pt"):
        load_checkpoint(junk)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weight": torch.zeros(1)}, foreign)
    with pytest.raises(DataFormatError, match=r"foreign.pt.*not a pixlearn"):
        load_checkpoint(foreign)


def test_find_last_run(tmp_path):
    assert find_last_run(tmp_path, "classify") is None
    for name in ("train1", "train2"):
        w = tmp_path / "classify" / name / "weights"
        w.mkdir(parents=True)
        (w / "last.pt").write_bytes(b"x")
    (tmp_path / "classify" / "train3").mkdir()  # no weights: not resumable
    import os

    os.utime(tmp_path / "classify" / "train1" / "weights" / "last.pt", (1e9, 1e9))
    assert find_last_run(tmp_path, "classify").name == "train2"
