"""The classification task through the Python API: train -> val -> predict -> export."""

import json
import warnings

import numpy as np
import pytest
import torch

from pixlearn.data import load_dataset
from pixlearn.engine import export, predict, train, validate
from pixlearn.engine.runs import load_checkpoint, read_args, read_results, save_weights
from pixlearn.io import write_image
from pixlearn.models import create_model

QUICK = {"model": "lenet5", "data": "digits", "epochs": 2, "limit": 96, "batch": 32}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    project = tmp_path_factory.mktemp("runs")
    return train("classify", project=str(project), devices="cpu", progress=False, **QUICK)


def test_train_writes_the_run_folder(trained):
    run = trained.run_dir
    assert run.name == "train1" and run.parent.name == "classify"
    for f in (
        "args.yaml",
        "results.csv",
        "results.png",
        "confusion_matrix.png",
        "misclassified.png",
    ):
        assert (run / f).is_file(), f
    assert (
        run / "weights" / "last.pt"
    ).is_file() and trained.weights == run / "weights" / "best.pt"
    assert any((run / "tb").iterdir())  # TensorBoard events
    args = read_args(run)
    assert args["epochs"] == 2 and args["model"] == "lenet5" and args["limit"] == 96
    rows = read_results(run / "results.csv")
    assert [r["epoch"] for r in rows] == [0.0, 1.0]
    assert {"train/loss", "val/loss", "val/acc", "val/top5", "lr"} <= set(rows[0])
    assert rows[1]["train/loss"] < rows[0]["train/loss"]


def test_best_weights_carry_metadata(trained):
    info = load_checkpoint(trained.weights)["pixlearn"]
    assert info["model"] == "lenet5" and info["task"] == "classify"
    assert info["model_args"] == {"num_classes": 10, "in_chans": 1, "small_input": True}
    assert info["classes"] == [str(d) for d in range(10)]
    assert info["in_chans"] == 1 and info["imgsz"] == 32
    # normalisation: the training images' mean and standard deviation
    x = torch.stack([load_dataset("digits", "train")[i][0] for i in range(96)]).double()
    assert info["mean"][0] == pytest.approx(float(x.mean()), abs=1e-5)
    assert info["std"][0] == pytest.approx(float(x.std()), abs=1e-5)
    assert info["version"]


def test_final_metrics_equal_a_plain_evaluation_loop(trained):
    model, info = trained.model, load_checkpoint(trained.weights)["pixlearn"]
    test = load_dataset("digits", "test")
    x = torch.stack([test[i][0] for i in range(96)])  # limit=96 applies to every split
    y = torch.tensor([test[i][1] for i in range(96)])
    with torch.no_grad():
        logits = model((x - info["mean"][0]) / info["std"][0])
    acc = (logits.argmax(1) == y).double().mean().item()
    top5 = (logits.topk(5, 1).indices == y[:, None]).any(1).double().mean().item()
    loss = torch.nn.functional.cross_entropy(logits.double(), y).item()
    m = trained.metrics
    assert m["test/acc"] == pytest.approx(acc, abs=1e-12)
    assert m["test/top5"] == pytest.approx(top5, abs=1e-12)
    assert m["test/loss"] == pytest.approx(loss, rel=1e-5)


def test_validate_mode(trained, tmp_path):
    res = validate(
        "classify",
        weights=str(trained.run_dir),
        project=str(tmp_path),
        limit=96,
        split="test",
        progress=False,
    )
    assert res.run_dir.name == "val1"
    assert res.metrics["val/acc"] == pytest.approx(trained.metrics["test/acc"], abs=1e-12)
    saved = json.loads((res.run_dir / "metrics.json").read_text())
    assert saved["val/acc"] == res.metrics["val/acc"]
    assert (res.run_dir / "confusion_matrix.png").is_file()
    assert res.metrics["val/top5"] >= res.metrics["val/acc"]


def test_predict_mode_on_files_folders_and_globs(trained, tmp_path):
    test = load_dataset("digits", "test")
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"d{i}.png", test[i][0])
    res = predict(
        "classify",
        weights=str(trained.weights),
        source=f"{folder},{folder}/d0.png",
        project=str(tmp_path),
        progress=False,
    )
    assert len(res.predictions) == 4
    rows = json.loads((res.run_dir / "predictions.json").read_text())
    assert [r["file"] for r in rows] == [str(folder / f"d{i}.png") for i in (0, 1, 2, 0)]
    assert len((res.run_dir / "predictions.csv").read_text().splitlines()) == 5
    assert len(list(res.run_dir.glob("*_d*.png"))) == 4  # annotated copies
    # the predictions equal the model on the same (8-bit quantised) images
    info = load_checkpoint(trained.weights)["pixlearn"]
    x = torch.stack([(test[i][0] * 255).round() / 255 for i in range(3)])
    with torch.no_grad():
        prob = trained.model((x - info["mean"][0]) / info["std"][0]).softmax(1)
    for r, p in zip(rows, prob, strict=False):
        assert r["label"] == int(p.argmax()) and r["confidence"] == pytest.approx(
            float(p.max()), abs=1e-4
        )
    res2 = predict(
        "classify",
        weights=str(trained.weights),
        source=f"{folder}/d[12].png",
        project=str(tmp_path),
        progress=False,
    )
    assert len(res2.predictions) == 2 and res2.run_dir.name == "predict2"
    with pytest.raises(FileNotFoundError, match=r"nothing_here"):
        predict(
            "classify",
            weights=str(trained.weights),
            source=str(tmp_path / "nothing_here"),
            project=str(tmp_path),
            progress=False,
        )
    with pytest.raises(ValueError, match=r"source"):
        predict("classify", weights=str(trained.weights), project=str(tmp_path), progress=False)


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_matches_pytorch(trained, fmt, capsys):
    res = export("classify", weights=str(trained.weights), format=fmt)
    out = res.files[0]
    assert out.parent == trained.weights.parent and out.suffix == (
        ".onnx" if fmt == "onnx" else ".torchscript"
    )
    assert res.metrics["max_abs_diff"] < 1e-4
    assert "max abs difference" in capsys.readouterr().out
    info = load_checkpoint(trained.weights)["pixlearn"]
    x = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = trained.model((x - info["mean"][0]) / info["std"][0]).numpy()
    if fmt == "onnx":
        import onnxruntime as ort

        got = ort.InferenceSession(str(out)).run(None, {"images": x.numpy()})[0]
    else:
        with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript, still supported
            warnings.simplefilter("ignore", DeprecationWarning)
            got = torch.jit.load(str(out))(x).detach().numpy()
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)  # batch 3: the batch axis is dynamic


def test_modes_need_weights(tmp_path):
    for fn in (validate, predict, export):
        with pytest.raises(ValueError, match=r"weights"):
            fn("classify", project=str(tmp_path), progress=False)


def test_class_count_mismatch_is_an_error_before_training(tmp_path):
    model = create_model("lenet5", num_classes=5, in_chans=1)
    meta = {
        "task": "classify",
        "model": "lenet5",
        "model_args": {"num_classes": 5, "in_chans": 1},
        "classes": list("abcde"),
        "in_chans": 1,
        "imgsz": 32,
        "mean": [0.0],
        "std": [1.0],
    }
    w = save_weights(tmp_path / "five.pt", model, meta)
    with pytest.raises(ValueError, match=r"5 classes but data 'digits' has 10"):
        train("classify", weights=str(w), project=str(tmp_path / "runs"), progress=False, **QUICK)
    with pytest.raises(ValueError, match=r"5 classes but data 'digits' has 10"):
        validate("classify", weights=str(w), project=str(tmp_path / "runs"), progress=False)
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_model_without_the_right_head_is_refused(tmp_path):
    from pixlearn.engine.tasks.classify import ClassifyConfig, ClassifyTask

    task = ClassifyTask(ClassifyConfig())
    meta = {"classes": [str(d) for d in range(10)], "in_chans": 1, "imgsz": 32}
    with pytest.raises(ValueError, match=r"has 4 outputs but data 'digits' has 10 classes"):
        task.check_model(create_model("lenet5", num_classes=4, in_chans=1), meta)
    with pytest.raises(ValueError, match=r"cannot take the data's 1-channel"):
        task.check_model(create_model("lenet5", num_classes=10, in_chans=3), meta)


def test_train_from_weights_starts_from_them(trained, tmp_path):
    res = train(
        "classify",
        weights=str(trained.weights),
        project=str(tmp_path),
        devices="cpu",
        progress=False,
        # model=resnet18 is replaced by the architecture of the weights
        **{**QUICK, "model": "resnet18", "epochs": 1, "lr": 1e-9, "scheduler": "none"},
    )
    assert read_args(res.run_dir)["model"] == "lenet5"
    # with a vanishing learning rate the weights stay those of the first run
    for k, v in trained.model.state_dict().items():
        torch.testing.assert_close(res.model.state_dict()[k], v, atol=1e-6, rtol=0)


class _FakeModule:
    """Stands in for the TaskModule: returns fixed logits for a batch."""

    def __init__(self, logits):
        self.logits, self.meta = logits, {"imgsz": 4, "classes": list("abcdefg")}

    def __call__(self, images):
        return self.logits[images[:, 0, 0, 0].long()]


def test_metric_sums_match_scikit_learn_over_batches():
    from sklearn.metrics import confusion_matrix, log_loss, top_k_accuracy_score

    from pixlearn.engine.tasks.classify import ClassifyConfig, ClassifyTask

    g = torch.Generator().manual_seed(0)
    n, k = 50, 7
    logits = torch.randn(n, k, generator=g, dtype=torch.float64)
    labels = torch.randint(0, k, (n,), generator=g)
    task = ClassifyTask(ClassifyConfig())
    fake = _FakeModule(logits)
    state = task.metric_state(fake.meta, torch.device("cpu"))
    index_images = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 4, 4)
    for s in range(0, n, 16):  # uneven batches: the sums do not care
        task.update_metrics(state, fake, (index_images[s : s + 16], labels[s : s + 16]))
    m = task.compute_metrics(state)
    y, p = labels.numpy(), logits.softmax(1).numpy()
    assert m["val/acc"] == pytest.approx(
        top_k_accuracy_score(y, p, k=1, labels=range(k)), abs=1e-12
    )
    assert m["val/top5"] == pytest.approx(
        top_k_accuracy_score(y, p, k=5, labels=range(k)), abs=1e-12
    )
    assert m["val/loss"] == pytest.approx(log_loss(y, p, labels=range(k)), rel=1e-6)
    expected = confusion_matrix(y, logits.argmax(1).numpy(), labels=range(k))
    np.testing.assert_array_equal(state["confusion"].numpy(), expected)
    # the misclassified grid keeps the first 36 errors
    assert len(task.wrong) == min(36, int((logits.argmax(1) != labels).sum()))
    paths = task.plots(
        __import__("pathlib").Path(__import__("tempfile").mkdtemp()), state, fake.meta
    )
    assert all(p.stat().st_size > 1000 for p in paths)
