"""``pixlearn <task> <mode> key=value ... --config f.yaml``, ``models``, ``model summary``."""

import json

import pytest
from typer.testing import CliRunner

from pixlearn.cli.main import app
from pixlearn.data import load_dataset
from pixlearn.engine.runs import load_checkpoint, read_args
from pixlearn.io import write_image

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def test_train_val_predict_export_end_to_end_on_digits(tmp_path):
    project = tmp_path / "runs"
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model: lenet5\ndata: digits\nepochs: 5\nlimit: 96\nbatch: 16\n")
    words = [f"project={project}", "epochs=1", "batch=32", "devices=cpu"]
    res = runner.invoke(app, ["classify", "train", *words, "--config", str(cfg)], env=WIDE)
    assert res.exit_code == 0, res.output
    run = project / "classify" / "train1"
    args = read_args(run)
    assert args["epochs"] == 1 and args["batch"] == 32  # the command line wins over the file
    assert args["limit"] == 96 and args["model"] == "lenet5"  # the file wins over the defaults
    assert "test/acc" in res.output  # the final metrics table
    assert (run / "weights" / "best.pt").is_file()

    res = runner.invoke(
        app, ["classify", "val", f"weights={run}", f"project={project}", "limit=96"], env=WIDE
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((project / "classify" / "val1" / "metrics.json").read_text())
    assert 0.0 <= metrics["val/acc"] <= metrics["val/top5"] <= 1.0
    assert "val/acc" in res.output

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    test = load_dataset("digits", "test")
    for i in range(2):
        write_image(imgs / f"{i}.png", test[i][0])
    res = runner.invoke(
        app,
        ["classify", "predict", f"weights={run}", f"source={imgs}/*.png", f"project={project}"],
        env=WIDE,
    )
    assert res.exit_code == 0, res.output
    rows = json.loads((project / "classify" / "predict1" / "predictions.json").read_text())
    assert len(rows) == 2 and all(r["class"] in [str(d) for d in range(10)] for r in rows)

    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".torchscript")):
        res = runner.invoke(
            app, ["classify", "export", f"weights={run}", f"format={fmt}"], env=WIDE
        )
        assert res.exit_code == 0, res.output
        assert "max abs difference vs PyTorch" in res.output
        diff = float(res.output.rsplit("PyTorch:", 1)[1].split()[0])
        assert diff < 1e-4
        assert (run / "weights" / f"best{suffix}").is_file()
    assert load_checkpoint(run)["pixlearn"]["model"] == "lenet5"


def test_unknown_key_is_an_error_listing_the_valid_ones(tmp_path):
    res = runner.invoke(app, ["classify", "train", "epoch=3", f"project={tmp_path}"], env=WIDE)
    assert res.exit_code == 2
    assert "unknown key epoch" in res.output and "valid keys:" in res.output
    assert "epochs" in res.output and "weights" in res.output
    assert not (tmp_path / "classify").exists()


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["classify", "train", "epochs"], "key=value"),
        (["classify", "train", "epochs=0"], "epochs must be >= 1"),
        (["classify", "fit"], "mode must be one of train, val, predict, export"),
        (["classify", "val"], "weights"),
        (["classify", "train", "model=nosuchnet", "limit=8"], "unknown model 'nosuchnet'"),
        (["segment", "train"], "task 'segment' is not implemented yet; implemented: classify"),
        (["detect", "predict"], "not implemented yet"),
        (["generate", "train"], "not implemented yet"),
        (["restore", "export"], "not implemented yet"),
    ],
)
def test_bad_commands_are_refused_with_a_message(words, message, tmp_path):
    res = runner.invoke(app, [*words, f"project={tmp_path}"], env=WIDE)
    assert res.exit_code == 2
    assert message in res.output


def test_missing_config_file_names_it(tmp_path):
    res = runner.invoke(app, ["classify", "train", "--config", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 2 and "nope.yaml" in res.output


def test_models_lists_registered_models():
    res = runner.invoke(app, ["models", "resnet*", "--task", "classify"], env=WIDE)
    assert res.exit_code == 0
    assert "resnet18" in res.output and "resnet50" in res.output and "lenet5" not in res.output
    res = runner.invoke(app, ["models"], env=WIDE)
    assert "lenet5" in res.output
    res = runner.invoke(app, ["models", "--task", "bogus"], env=WIDE)
    assert res.exit_code == 2 and "task" in res.output


def test_model_summary_prints_layers_parameters_and_flops():
    res = runner.invoke(app, ["model", "summary", "lenet5", "imgsz=32", "in_chans=1"], env=WIDE)
    assert res.exit_code == 0, res.output
    n = sum(p.numel() for p in __import__("pixlearn").models.create_model("lenet5").parameters())
    assert f"{n:,}" in res.output and "multiply-adds" in res.output
    assert "Conv2d" in res.output and "1x6x28x28" in res.output
    res = runner.invoke(app, ["model", "summary", "lenet5", "size=3"])
    assert res.exit_code == 2 and "valid keys: imgsz, in_chans, num_classes" in res.output
    res = runner.invoke(app, ["model", "summary", "nosuchnet"])
    assert res.exit_code == 2 and "nosuchnet" in res.output


def test_api_argument_names_are_not_keys(tmp_path):
    res = runner.invoke(app, ["classify", "train", "progress=false", f"project={tmp_path}"])
    assert res.exit_code == 2
    assert "unknown key progress" in res.output and "valid keys:" in res.output
