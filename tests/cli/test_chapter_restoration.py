import pytest
import torch

from pixlearn.cli.chapters.restoration import RESTORATION
from pixlearn.cli.chapters.restoration.inpainting import scratches


@pytest.fixture(scope="module")
def section(run_chapter):
    report, sec, _ = run_chapter(RESTORATION)
    return report, sec


def test_steps_in_syllabus_order():
    names = [name for name, _ in RESTORATION.steps]
    assert names == [
        "deconvolution: inverse filter, Wiener, Richardson-Lucy",
        "dehazing with the dark channel prior",
        "inpainting of scratches",
        "super-resolution baseline: nearest, bilinear, bicubic",
    ]


def test_quick_mode_metrics_hold(section):
    _, sec = section
    metrics = {m.name: m for m in sec.metrics}
    flagged = [m for m in sec.metrics if m.ok is not None]
    assert len(flagged) == 12 and all(m.ok for m in flagged), [m.name for m in flagged if not m.ok]
    for psf in ("Gaussian (sigma 2)", "defocus (radius 4)"):
        degraded = metrics[f"{psf}: PSNR degraded"].value
        wiener = next(m for n, m in metrics.items() if n.startswith(f"{psf}: PSNR Wiener"))
        rl = next(m for n, m in metrics.items() if n.startswith(f"{psf}: PSNR Richardson"))
        assert wiener.value > degraded and rl.value > degraded
        # the plain inverse filter blows up: values far outside [0, 1]
        assert metrics[f"{psf}: max |inverse filter without threshold|"].value > 10
    assert metrics["max |A estimated - A true|"].value < 0.05


def test_tables_and_figures_are_written(section, tmp_path):
    report, sec = section
    names = [payload[2] for kind, payload in sec.blocks if kind == "figure"]
    assert names == ["deconvolution", "sweeps", "dehazing", "inpainting", "superres"]
    tables = [payload for kind, payload in sec.blocks if kind == "table"]
    assert tables[0][0] == ["PSF", "method", "PSNR (dB)", "SSIM"] and len(tables[0][1]) == 10
    report.write(tmp_path)
    for name in names:
        assert (tmp_path / "figures" / f"restoration-{name}.png").stat().st_size > 1000


def test_scratches_are_thin_seeded_lines():
    a = scratches(64, 64, 5, torch.Generator().manual_seed(1))
    b = scratches(64, 64, 5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.dtype == torch.bool
    assert 0 < float(a.float().mean()) < 0.15
    assert not torch.equal(a, scratches(64, 64, 5, torch.Generator().manual_seed(2)))
