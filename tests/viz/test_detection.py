import pytest
import torch
from matplotlib.figure import Figure

from pixlearn.viz import draw_boxes, plot_confusion_matrix, plot_pr_curve


def test_draw_boxes_places_rectangles_and_captions(tmp_path):
    img = torch.rand(3, 40, 60)
    boxes = torch.tensor([[2.0, 3, 20, 30], [30, 5, 58, 38]])
    fig = draw_boxes(img, boxes, torch.tensor([0, 1]), torch.tensor([0.91, 0.5]), ["cat", "dog"])
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    r = ax.patches[1]
    assert (r.get_x(), r.get_y(), r.get_width(), r.get_height()) == (30, 5, 28, 33)
    assert [t.get_text() for t in ax.texts] == ["cat 0.91", "dog 0.50"]
    assert ax.patches[0].get_edgecolor() != ax.patches[1].get_edgecolor()
    fig.savefig(tmp_path / "boxes.png")
    # two panels in one figure, grayscale image, no labels
    fig = Figure()
    a, b = fig.subplots(1, 2)
    assert draw_boxes(img[0], boxes, ax=a, title="before") is fig
    draw_boxes(img[:1], boxes[:0], ax=b, title="after")
    assert len(a.patches) == 2 and len(b.patches) == 0 and b.get_title() == "after"


def test_plot_pr_curve_and_confusion_matrix(tmp_path):
    r = torch.tensor([0.2, 0.4, 0.4, 0.8])
    p = torch.tensor([1.0, 1.0, 0.67, 0.8])
    fig = plot_pr_curve([r, r * 0.5], [p, p * 0.9], ["cat AP 0.72", "dog AP 0.33"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cat AP 0.72", "dog AP 0.33"]
    assert len(ax.lines) == 4  # curve and envelope per class
    fig.savefig(tmp_path / "pr.png")
    m = torch.tensor([[5, 1, 2], [0, 3, 1], [1, 0, 0]])
    fig = plot_confusion_matrix(m, ["cat", "dog"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[0] == "0.83" and texts[2] == "0.67"  # 5 / 6 and 2 / 3 (columns normalised)
    counts = plot_confusion_matrix(m, ["cat", "dog", "bg"], normalize=False)
    assert [t.get_text() for t in counts.axes[0].texts][:3] == ["5", "1", "2"]
    fig.savefig(tmp_path / "cm.png")


def test_errors():
    with pytest.raises(ValueError, match="boxes"):
        draw_boxes(torch.rand(3, 8, 8), torch.rand(2, 5))
    with pytest.raises(ValueError, match="labels"):
        draw_boxes(torch.rand(3, 8, 8), torch.rand(2, 4), labels=torch.zeros(3, dtype=torch.long))
    with pytest.raises(TypeError, match="image"):
        draw_boxes(torch.zeros(3, 8, 8, dtype=torch.uint8), torch.rand(2, 4))
    with pytest.raises(ValueError, match="one entry per curve"):
        plot_pr_curve([torch.rand(3)], [torch.rand(3), torch.rand(3)])
    with pytest.raises(ValueError, match=r"recall\[0\]"):
        plot_pr_curve(torch.rand(3), torch.rand(4))
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(torch.zeros(3, 2), ["a", "b"])
    with pytest.raises(ValueError, match="class_names"):
        plot_confusion_matrix(torch.zeros(3, 3), ["a"])
