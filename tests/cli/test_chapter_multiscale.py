import pytest

from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.multiscale import MULTISCALE
from pixlearn.viz.report import Report


@pytest.fixture(scope="module")
def section():
    """Every step of the chapter once, in quick mode."""
    report = Report("test")
    sec = report.section(MULTISCALE.title, MULTISCALE.intro)
    for _name, step in MULTISCALE.steps:
        step(sec, DemoSettings(quick=True, seed=0))
    return report, sec


def test_steps_in_syllabus_order():
    assert [name for name, _ in MULTISCALE.steps] == [
        "Gaussian and Laplacian pyramids",
        "Gaussian scale space",
        "blob detection over scale",
        "wavelet decomposition",
    ]


def test_quick_mode_metrics_hold(section):
    _, sec = section
    metrics = {m.name: m for m in sec.metrics}
    rec = metrics["Laplacian pyramid: max |reconstruction - image|"]
    assert rec.ok and rec.value < 1e-6
    assert 1 < metrics["Laplacian pyramid: values stored / pixels"].value < 4 / 3
    assert metrics["extrema along one row, sigma 0.5 .. 32"].ok
    assert metrics["blobs found by the scale-normalised LoG (threshold 0.1)"].value > 50
    assert metrics["energy in the level-3 approximation (db2, orthogonal)"].ok
    assert metrics["energy kept by the transform (Parseval)"].ok


def test_figures_are_written(section, tmp_path):
    report, sec = section
    names = [payload[2] for kind, payload in sec.blocks if kind == "figure"]
    assert names == ["pyramids", "scale-space", "blobs", "wavelets"]
    report.write(tmp_path)
    written = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert len(written) == 4
    for p in (tmp_path / "figures").iterdir():
        assert p.stat().st_size > 1000
