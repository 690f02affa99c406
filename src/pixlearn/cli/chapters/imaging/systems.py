"""Steps of the "Images" demo: the virtual microscope and camera calibration."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes, psnr
from pixlearn.cli.chapters.imaging.chapter import IMAGING
from pixlearn.data.synthetic import cells
from pixlearn.imaging import (
    VirtualMicroscope,
    calibrate_camera,
    find_checkerboard_corners,
    project_points,
    render_checkerboard,
)
from pixlearn.viz import plot_microscope
from pixlearn.viz.report import Section

__all__: list[str] = []


@IMAGING.step("virtual fluorescence microscope")
def _microscope(sec: Section, cfg: DemoSettings) -> None:
    size = 128 if cfg.quick else 256  # camera pixels
    phantom, labels = cells(
        1,
        2 * size,
        n_cells=(8, 14) if cfg.quick else (25, 40),
        radius=(10.0, 18.0),
        generator=cfg.generator(),
    )
    results = {}
    for na in (0.4, 1.3):
        scope = VirtualMicroscope(
            na=na, photons=300.0, read_noise=2.0, bit_depth=12, pixel_size=0.1, oversample=2
        )
        image, truth = scope.simulate(phantom, labels, generator=cfg.generator())
        db = psnr(image, truth.phantom + scope.background)
        results[na] = (image, truth, db)
        sec.metric(f"PSNR vs ground truth, NA {na}", db, unit="dB")
    sec.metric(
        "higher NA gives the sharper image",
        results[1.3][2] - results[0.4][2],
        unit="dB",
        expected="> 0",
        ok=results[1.3][2] > results[0.4][2],
    )
    truth = results[1.3][1]
    n_cells = int(truth.labels.max())
    sec.metric("cells in the ground-truth mask", n_cells, expected=">= 1", ok=n_cells >= 1)
    sec.figure(
        plot_microscope(phantom[0], results[1.3][0][0, 0], truth.labels[0], pixel_size=0.1),
        "A synthetic cell phantom imaged at NA 1.3 (300 photons, read noise 2 e-, "
        "12-bit camera) with its perfect label mask.",
        name="microscope",
    )
    fig = Figure(figsize=(9, 4.4), layout="constrained")
    axes = image_axes(fig, 2)
    for ax, na in zip(axes, (0.4, 1.3), strict=True):
        img, _, db = results[na]
        ax.imshow(img[0, 0].numpy(), cmap="gray")
        ax.set_title(f"NA {na}: PSNR {db:.1f} dB", fontsize=9)
    sec.figure(
        fig,
        "The same cells through a low- and a high-aperture objective: the cut-off "
        "frequency 2 NA / lambda sets the finest resolvable detail.",
        name="na",
    )


@IMAGING.step("camera calibration (Zhang)")
def _calibration(sec: Section, cfg: DemoSettings) -> None:
    # A known camera with barrel distortion views a 7x5-corner board from random poses.
    f64 = torch.float64
    K = torch.tensor([[300.0, 0, 160], [0, 310, 120], [0, 0, 1]], dtype=f64)
    dist = torch.tensor([-0.2, 0.05, 0.001, -0.001, 0.0], dtype=f64)
    pattern = (7, 5)
    g = cfg.generator()
    views, truths = [], []
    for _ in range(6 if cfg.quick else 12):
        rvec = (torch.rand(3, generator=g, dtype=f64) - 0.5) * torch.tensor([0.8, 0.8, 0.4])
        t = torch.tensor([-3.0, -2.0, 10.0], dtype=f64) + (torch.rand(3, generator=g) - 0.5)
        image, corners = render_checkerboard(
            pattern, K, rvec, t, dist, blur_sigma=0.7, noise_std=0.01, generator=g
        )
        views.append(image)
        truths.append(corners)
    found = [find_checkerboard_corners(v, pattern) for v in views]
    ok = [i for i, c in enumerate(found) if c is not None]
    sec.metric("boards found", f"{len(ok)}/{len(views)}", expected="all", ok=len(ok) == len(views))
    err = torch.cat([(found[i] - truths[i]).norm(dim=1) for i in ok])
    sec.metric(
        "corner error, max",
        float(err.max()),
        unit="px",
        expected="< 0.1 px",
        ok=float(err.max()) < 0.1,
    )
    board = torch.stack(torch.meshgrid(torch.arange(5.0), torch.arange(7.0), indexing="ij"))
    obj = torch.cat([board.flip(0).reshape(2, -1).T, torch.zeros(35, 1)], 1).to(f64)  # (35, 3)
    result = calibrate_camera([obj] * len(ok), [found[i] for i in ok], (320, 240))
    for name, got, true in (
        ("fx", result.K[0, 0], K[0, 0]),
        ("fy", result.K[1, 1], K[1, 1]),
        ("cx", result.K[0, 2], K[0, 2]),
        ("cy", result.K[1, 2], K[1, 2]),
    ):
        rel = abs(float(got / true) - 1)
        sec.metric(
            f"{name} recovered (true {float(true):g})",
            float(got),
            unit="px",
            expected="within 0.5%",
            ok=rel < 0.005,
        )
    sec.metric(
        "RMS reprojection error", result.rms, unit="px", expected="< 0.1 px", ok=result.rms < 0.1
    )
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_img, ax_err = fig.subplots(1, 2)
    ax_img.imshow(views[ok[0]].numpy(), cmap="gray", vmin=0, vmax=1)
    ax_img.plot(found[ok[0]][:, 0], found[ok[0]][:, 1], "r+", markersize=8)
    ax_img.set_title("a rendered view and its detected corners")
    ax_img.set_axis_off()
    resid = torch.cat(
        [
            project_points(obj, result.K, result.rvecs[j], result.tvecs[j], result.dist) - found[i]
            for j, i in enumerate(ok)
        ]
    )
    ax_err.scatter(resid[:, 0], resid[:, 1], s=6)
    ax_err.set_aspect("equal")
    ax_err.set_xlabel("reprojection error x (px)")
    ax_err.set_ylabel("reprojection error y (px)")
    ax_err.set_title(f"residuals after calibration, RMS {result.rms:.3f} px")
    sec.figure(
        fig,
        "Corners found on rendered checkerboards (perspective, lens distortion, "
        "blur and noise), then Zhang's closed form refined by Levenberg-Marquardt.",
        name="calibration",
    )
