import torch
from typer.testing import CliRunner

from pixlearn.cli.main import app
from pixlearn.io import write_image

runner = CliRunner()


def test_data_check_prints_counts_and_writes_the_mosaic(tmp_path):
    result = runner.invoke(
        app, ["data", "check", "data=faces", "--out", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.stdout
    assert "non_face" in result.stdout and "face" in result.stdout
    assert "140" in result.stdout and "no problems found" in result.stdout
    assert (tmp_path / "mosaic.png").is_file()


def test_data_check_reports_problems_with_exit_code_1(tmp_path):
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    write_image(root / "a" / "x.png", torch.rand(1, 4, 4))
    (root / "a" / "y.png").write_bytes(b"not a png")
    result = runner.invoke(
        app,
        ["data", "check", f"folder:{root}", "--out", str(tmp_path / "o")],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 1
    assert "y.png" in result.stdout and "empty classes" in result.stdout


def test_data_check_unknown_spec_lists_valid_ones(tmp_path):
    result = runner.invoke(app, ["data", "check", "data=nope", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "digits" in result.output and "cifar10:/root" in result.output
