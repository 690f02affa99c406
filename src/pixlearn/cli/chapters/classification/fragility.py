"""Step "Adversarial fragility": FGSM examples and accuracy against the attack size."""

from __future__ import annotations

from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.classification.chapter import CLASSIFICATION
from pixlearn.cli.chapters.classification.models import digits_split, predict, trained
from pixlearn.robustness import fgsm, pgd
from pixlearn.viz.report import Section

__all__: list[str] = []


@CLASSIFICATION.step("FGSM and PGD attacks")
def _attacks(sec: Section, cfg: DemoSettings) -> None:
    x, y = digits_split("test")
    lenet = trained("lenet5", cfg.quick, cfg.seed).model
    resnet = trained("resnet18", cfg.quick, cfg.seed).model
    eps_grid = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2]
    curves: dict[str, list[float]] = {}
    for name, model in (("LeNet-5", lenet), ("ResNet-18", resnet)):
        # the FGSM direction sign(grad_x J) does not depend on eps: compute it once
        direction = fgsm(model, x, y, 1.0, clamp=None) - x  # (N, 1, 32, 32), values -1, 0, 1
        curves[f"{name} FGSM"] = [
            float((predict(model, (x + e * direction).clamp(0, 1)) == y).float().mean())
            for e in eps_grid
        ]
    steps = 5 if cfg.quick else 10
    curves[f"LeNet-5 PGD ({steps} steps)"] = [
        float((predict(lenet, pgd(lenet, x, y, e, max(e, 1e-3) / 4, steps,
                                  generator=cfg.generator())) == y).float().mean())
        for e in eps_grid
    ]  # fmt: skip
    at = eps_grid.index(0.1)
    acc_fgsm = curves["LeNet-5 FGSM"][at]
    acc_pgd = curves[f"LeNet-5 PGD ({steps} steps)"][at]
    sec.metric("LeNet-5 clean test accuracy", curves["LeNet-5 FGSM"][0])
    sec.metric("LeNet-5 accuracy under FGSM, eps = 0.1", acc_fgsm, expected="< 0.5",
               ok=acc_fgsm < 0.5)  # fmt: skip
    sec.metric(f"LeNet-5 accuracy under PGD, eps = 0.1, {steps} steps", acc_pgd,
               expected=f"<= FGSM's {acc_fgsm:.3f}", ok=acc_pgd <= acc_fgsm)  # fmt: skip
    sec.metric("ResNet-18 accuracy under FGSM, eps = 0.1", curves["ResNet-18 FGSM"][at])

    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.add_subplot()
    for label, acc in curves.items():
        ax.plot(eps_grid, acc, "o-", label=label)
    ax.set_xlabel("eps (L-infinity size of the perturbation, images in [0, 1])")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    sec.figure(fig, "Accuracy against the attack size: a change of a few percent of the value "
               "range per pixel, invisible to a reader, takes most digits away from the "
               "networks; PGD (iterated, projected FGSM) finds stronger perturbations.",
               name="accuracy-vs-eps")  # fmt: skip

    # examples: clean and attacked digits with LeNet-5's answers
    n = 6
    clean, labels = x[:n], y[:n]
    adv = fgsm(lenet, clean, labels, 0.1)
    p_clean, p_adv = predict(lenet, clean), predict(lenet, adv)
    fig = Figure(figsize=(1.8 * n, 6), layout="constrained")
    axes = image_axes(fig, n, rows=3)
    for j in range(n):
        axes[j].imshow(clean[j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[j].set_title(f"clean: {int(p_clean[j])}", fontsize=9)
        axes[n + j].imshow(adv[j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
        wrong = bool(p_adv[j] != labels[j])
        axes[n + j].set_title(f"FGSM: {int(p_adv[j])}", fontsize=9,
                              color="red" if wrong else "black")  # fmt: skip
        axes[2 * n + j].imshow((adv - clean)[j, 0].numpy(), cmap="coolwarm", vmin=-0.1, vmax=0.1)
    axes[2 * n].set_title("perturbation", fontsize=9, loc="left")
    sec.figure(fig, "FGSM at eps = 0.1 on LeNet-5: x + 0.1 sign(grad_x loss), clipped to "
               "[0, 1]. Top: test digits and predictions; middle: attacked (red: now wrong); "
               "bottom: the perturbation.", name="fgsm-examples")  # fmt: skip
