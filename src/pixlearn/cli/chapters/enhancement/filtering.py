"""Steps of the "Enhancement" demo: a Gabor bank, frequency filters, template matching."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.enhancement import contrast  # noqa: F401  (its step comes first)
from pixlearn.cli.chapters.enhancement.chapter import ENHANCEMENT
from pixlearn.data import sample
from pixlearn.filters import (
    bandpass,
    frequency_response,
    gabor_filter_bank,
    highpass,
    lowpass,
    match_template,
    peak_local_max,
)
from pixlearn.viz.report import Section

__all__: list[str] = []


@ENHANCEMENT.step("Gabor filter bank")
def _gabor(sec: Section, cfg: DemoSettings) -> None:
    image = sample("brick")[0, :256, :256]  # a texture of horizontal and vertical joints
    thetas = [k * math.pi / 4 for k in range(4)]
    responses = gabor_filter_bank(image, [0.1], thetas)  # (4, H, W) magnitudes
    combined = gabor_filter_bank(image, [0.1], thetas, combine="max")
    fig = Figure(figsize=(13, 3.2), layout="constrained")
    axes = image_axes(fig, 6)
    axes[0].imshow(image.numpy(), cmap="gray")
    axes[0].set_title("image", fontsize=9)
    for ax, resp, theta in zip(axes[1:5], responses, thetas, strict=True):
        ax.imshow(resp.numpy(), cmap="magma")
        ax.set_title(f"|Gabor|, f 0.1, theta {math.degrees(theta):.0f} deg", fontsize=9)
    axes[5].imshow(combined.numpy(), cmap="magma")
    axes[5].set_title("bank: maximum", fontsize=9)
    sec.figure(
        fig,
        "Gabor filters (Gaussian x complex sinusoid) respond to texture of one "
        "frequency and orientation; a bank combines them (here the maximum).",
        name="gabor",
    )
    strongest = thetas[int(responses.flatten(1).mean(1).argmax())]
    sec.metric("orientation with the strongest mean response", math.degrees(strongest), unit="deg")


@ENHANCEMENT.step("frequency-domain filters")
def _frequency(sec: Section, cfg: DemoSettings) -> None:
    image = sample("camera")[0].double()
    low = lowpass(image, 0.05, kind="gaussian", boundary="reflect")
    high = highpass(image, 0.05, kind="gaussian", boundary="reflect")
    band = bandpass(image, 0.05, 0.15, kind="butterworth", boundary="reflect")
    err = float((low + high - image).abs().max())
    sec.metric(
        "low-pass + high-pass - image (complementary)", err, expected="< 1e-6", ok=err < 1e-6
    )
    fig = Figure(figsize=(13, 6.2), layout="constrained")
    axes = image_axes(fig, 4, rows=2)
    panels = [
        (frequency_response(256, 0.05, kind="gaussian", centered=True), "Gaussian low-pass H"),
        (
            frequency_response(256, 0.05, kind="gaussian", highpass=True, centered=True),
            "Gaussian high-pass H = 1 - low-pass",
        ),
        (
            frequency_response(256, 0.15, kind="butterworth", centered=True)
            - frequency_response(256, 0.05, kind="butterworth", centered=True),
            "Butterworth band-pass 0.05-0.15",
        ),
        (frequency_response(256, 0.15, kind="ideal", centered=True), "ideal low-pass 0.15"),
    ]
    for ax, (h, title) in zip(axes[:4], panels, strict=True):
        ax.imshow(h.numpy(), cmap="viridis", extent=(-0.5, 0.5, -0.5, 0.5))
        ax.set_title(title, fontsize=9)
    for ax, (img, title) in zip(
        axes[4:],
        [
            (image, "camera"),
            (low, "low-pass: main areas"),
            (high, "high-pass: edges, texture"),
            (band, "band-pass"),
        ],
        strict=True,
    ):
        ax.imshow(img.numpy(), cmap="gray")
        ax.set_title(title, fontsize=9)
    sec.figure(
        fig,
        "Transfer functions (top, frequency in cycles/pixel) and what they keep (bottom).",
        name="frequency",
    )


@ENHANCEMENT.step("normalised template matching")
def _template(sec: Section, cfg: DemoSettings) -> None:
    image = sample("coins")[0]  # (303, 384)
    top, left = 170, 190
    template = image[top : top + 48, left : left + 48]
    # the same scene under a brightness ramp and lower contrast
    ramp = torch.linspace(0, 0.5, image.shape[-1])[None, :]
    changed = 0.6 * image + ramp
    # plain correlation with the raw template
    plain = torch.nn.functional.conv2d(changed[None, None], template[None, None])[0, 0]
    plain_peak = divmod(int(plain.argmax()), plain.shape[-1])
    ncc = match_template(changed, template)
    peak = peak_local_max(ncc, num_peaks=1)[0].tolist()
    sec.metric(
        "plain correlation peak (row, col)",
        str(plain_peak),
        expected=f"moves away from ({top}, {left})",
        ok=plain_peak != (top, left),
    )
    sec.metric(
        "normalised cross-correlation peak",
        str(tuple(peak)),
        expected=f"({top}, {left})",
        ok=tuple(peak) == (top, left),
    )
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    axes = image_axes(fig, 4)
    axes[0].imshow(template.numpy(), cmap="gray")
    axes[0].set_title("template", fontsize=9)
    axes[1].imshow(changed.numpy(), cmap="gray")
    axes[1].set_title("scene: brightness ramp, contrast 0.6", fontsize=9)
    axes[2].imshow(plain.numpy(), cmap="magma")
    axes[2].plot(plain_peak[1], plain_peak[0], "c+", markersize=14)
    axes[2].set_title("plain correlation (peak moves)", fontsize=9)
    axes[3].imshow(ncc.numpy(), cmap="magma")
    axes[3].plot(peak[1], peak[0], "c+", markersize=14)
    axes[3].set_title("zero-mean normalised (peak stays)", fontsize=9)
    sec.figure(
        fig,
        "Why template matching normalises: without it the correlation follows the "
        "bright side of the image; with it the peak stays on the match.",
        name="template",
    )
