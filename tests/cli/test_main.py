import re

import pytest
import tifffile
from typer.testing import CliRunner

import pixlearn
from pixlearn.cli.chapters import Chapter
from pixlearn.cli.demo import run_demo
from pixlearn.cli.main import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pixlearn {pixlearn.__version__}"


def test_no_arguments_shows_help():
    result = runner.invoke(app, [])
    assert "demo" in result.stdout and "info" in result.stdout


def test_info_prints_environment_and_modules():
    result = runner.invoke(app, ["info"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout
    for key in ("pixlearn", "python", "torch", "devices", "threads"):
        assert re.search(rf"^{key}\s", result.stdout, re.M), key
    assert "pixlearn.imaging" in result.stdout and "ready" in result.stdout
    assert "psf2otf" in result.stdout
    assert "planned" in result.stdout  # chapters of later issues are listed as planned


def test_demo_quick_writes_the_report_and_every_check_holds(tmp_path):
    result = runner.invoke(app, ["demo", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.stdout
    page = (tmp_path / "report.html").read_text()
    assert "Images: how an image forms" in page
    assert "fails" not in page and "failed" not in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 8
    for rel in images:
        assert (tmp_path / rel).stat().st_size > 1000
    assert "holds" in result.stdout


def test_a_failing_step_is_reported_and_the_others_still_run(tmp_path):
    chapter = Chapter("Broken", "a chapter whose first step raises")
    ran = []

    @chapter.step("raises")
    def _bad(sec, cfg):
        raise RuntimeError("boom")

    @chapter.step("works")
    def _good(sec, cfg):
        ran.append(cfg.quick)
        sec.metric("answer", 42, expected="42", ok=True)

    path, ok = run_demo(tmp_path, quick=True, chapters=[chapter])
    assert not ok and ran == [True]
    page = path.read_text()
    assert "RuntimeError: boom" in page and "answer" in page and "failed to run" in page


def test_simulate_microscope_writes_images_and_masks(tmp_path):
    out = tmp_path / "sim"
    result = runner.invoke(
        app, ["simulate", "microscope", "--n", "2", "--size", "64", "--out", str(out)]
    )
    assert result.exit_code == 0, result.stdout
    images = sorted((out / "images").glob("*.tif"))
    masks = sorted((out / "masks").glob("*.tif"))
    assert len(images) == len(masks) == 2
    image, mask = tifffile.imread(images[0]), tifffile.imread(masks[0])
    assert image.shape == mask.shape == (64, 64)
    assert mask.max() >= 1 and (image[mask > 0].mean() > image[mask == 0].mean())


@pytest.mark.parametrize("args", [["simulate", "microscope", "--n", "0"], ["demo", "--bogus"]])
def test_bad_options_are_refused(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2


def test_data_convert_coco_to_voc_and_back(tmp_path):
    import json

    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [2, 3, 10, 12],
                "area": 120,
                "iscrowd": 0,
            }
        ],
        "categories": [{"id": 1, "name": "cat"}],
    }
    src = tmp_path / "a.json"
    src.write_text(json.dumps(coco))
    voc = tmp_path / "voc"
    result = runner.invoke(
        app, ["data", "convert", "--from", "coco", "--to", "voc", str(src), str(voc)]
    )
    assert result.exit_code == 0, result.stdout
    assert "1 images, 1 boxes and 1 classes" in result.stdout
    back = tmp_path / "back.json"
    result = runner.invoke(
        app, ["data", "convert", "--from", "voc", "--to", "coco", str(voc), str(back)]
    )
    assert result.exit_code == 0, result.stdout
    ann = json.loads(back.read_text())["annotations"][0]
    assert ann["bbox"] == [2, 3, 10, 12]


def test_data_convert_reports_bad_input_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = runner.invoke(
        app, ["data", "convert", "--from", "coco", "--to", "voc", str(bad), str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "error:" in result.output and "bad.json" in result.output
