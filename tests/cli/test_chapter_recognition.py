import pytest
import torch

from pixlearn.cli.chapters.recognition import RECOGNITION
from pixlearn.cli.chapters.recognition.sift_matches import project, rotation_about_centre


@pytest.fixture(scope="module")
def section(run_chapter):
    return run_chapter(RECOGNITION)


def test_steps_in_order():
    assert [name for name, _ in RECOGNITION.steps] == [
        "Harris corners",
        "SIFT matches and RANSAC homography",
        "HOG visualisation",
        "bag of visual words vs Fisher vectors",
        "Viola-Jones face detector",
    ]


def test_quick_mode_metrics_hold(section):
    _, sec, _ = section
    metrics = {m.name: m for m in sec.metrics}
    flagged = [m for m in sec.metrics if m.ok is not None]
    # 2 Harris, 1 RANSAC, 3 HOG lengths, 1 Fisher >= BoVW, 2 Viola-Jones rates, 1 astronaut IoU
    assert len(flagged) == 10 and all(m.ok for m in flagged), [m.name for m in flagged if not m.ok]
    assert metrics["Harris corners on the checkerboard"].value == 49
    assert metrics["RMS corner error of the recovered homography"].value < 1.0
    assert metrics["RANSAC inliers"].value >= 20
    assert metrics["matches correct under the known warp (< 2 px)"].value > 0.8
    fisher, bovw = metrics["textures, K = 16: Fisher >= BoVW test accuracy"].value.split(" vs ")
    assert float(fisher) > 0.8 and float(fisher) >= float(bovw)
    assert metrics["held-out detection rate (LFW test faces)"].value >= 0.95
    assert metrics["held-out false-positive rate (LFW test non-faces)"].value <= 0.01
    assert metrics["best IoU with the hand-marked face"].value >= 0.5


def test_tables_and_figures_are_written(section, tmp_path):
    report, sec, _ = section
    names = [payload[2] for kind, payload in sec.blocks if kind == "figure"]
    assert names == ["harris", "sift", "hog", "viola-jones"]
    tables = [payload for kind, payload in sec.blocks if kind == "table"]
    assert len(tables) == 1 and tables[0][0][4] == "BoVW acc" and len(tables[0][1]) == 1
    assert any("pretrained()" in payload for kind, payload in sec.blocks if kind == "text")
    report.write(tmp_path)
    for name in names:
        assert (tmp_path / "figures" / f"classical-recognition-{name}.png").stat().st_size > 1000


def test_quick_mode_is_quick(section):
    _, _, seconds = section
    # the budget is ~12 s on a quiet 2-core machine; generous here for a shared one
    assert sum(seconds.values()) < 60, seconds


def test_rotation_about_centre_fixes_the_centre_and_scales():
    h = rotation_about_centre((101, 61), 90.0, 2.0)
    centre = torch.tensor([[30.0, 50.0]], dtype=torch.float64)
    assert torch.allclose(project(h, centre), centre, atol=1e-12)
    # one pixel to the right of the centre goes two pixels down (y grows downwards)
    right = project(h, centre + torch.tensor([[1.0, 0.0]], dtype=torch.float64))
    assert torch.allclose(right, centre + torch.tensor([[0.0, 2.0]], dtype=torch.float64))
