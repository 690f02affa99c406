import pytest
import torch

from pixlearn.cli.chapters.classification import CLASSIFICATION
from pixlearn.cli.chapters.classification.accuracy import confusion_matrix


@pytest.fixture(scope="module")
def section(run_chapter):
    report, sec, _ = run_chapter(CLASSIFICATION)
    return report, sec


def test_steps_in_syllabus_order():
    names = [name for name, _ in CLASSIFICATION.steps]
    assert names == [
        "LeNet-5 and ResNet-18 on digits",
        "first-layer filters and activation maps",
        "saliency and Grad-CAM",
        "FGSM and PGD attacks",
    ]


def test_quick_mode_metrics_hold(section):
    _, sec = section
    metrics = {m.name: m for m in sec.metrics}
    lenet = metrics["lenet5 test accuracy (epochs=6)"]
    assert lenet.ok and lenet.value >= 0.97
    assert metrics["lenet5: engine's test accuracy equals a recount"].ok
    assert metrics["resnet18: engine's test accuracy equals a recount"].ok
    fgsm = metrics["LeNet-5 accuracy under FGSM, eps = 0.1"]
    assert fgsm.ok and fgsm.value < 0.5  # the quality point, shown in the demo
    assert metrics["LeNet-5 accuracy under PGD, eps = 0.1, 5 steps"].ok
    share = metrics["Grad-CAM, LeNet-5: map share on the strokes / their area share"].value
    assert 0 < share < 1 / 0.2  # a finite map (the ink covers more than a fifth of the image)


def test_figures_are_written(section, tmp_path):
    report, sec = section
    names = [payload[2] for kind, payload in sec.blocks if kind == "figure"]
    assert names == ["confusion", "filters", "gradcam", "accuracy-vs-eps", "fgsm-examples"]
    report.write(tmp_path)
    for name in names:
        assert (tmp_path / "figures" / f"classification-{name}.png").stat().st_size > 1000


def test_confusion_matrix_counts_pairs():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    pred = torch.tensor([0, 1, 1, 2, 0, 2])
    expected = torch.tensor([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert torch.equal(confusion_matrix(labels, pred, 3), expected)
