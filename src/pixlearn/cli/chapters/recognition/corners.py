"""Step of the "Classical recognition" demo: Harris corners on a checkerboard and a photo."""

from __future__ import annotations

from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.recognition.chapter import RECOGNITION
from pixlearn.data import sample
from pixlearn.features import harris_corners, harris_response
from pixlearn.viz.report import Section

__all__: list[str] = []


@RECOGNITION.step("Harris corners")
def _harris(sec: Section, cfg: DemoSettings) -> None:
    board = sample("checkerboard")[0]  # (200, 200), 8x8 squares of 25 px
    step = 2 if cfg.quick else 1
    camera = sample("camera")[0, ::step, ::step].contiguous()  # (256 or 512)^2
    # R = det(A) - k tr(A)^2 of the Gaussian-windowed structure tensor A
    response = harris_response(board, k=0.05, sigma=1.0)
    on_board = harris_corners(board, min_distance=5, threshold_rel=0.05)  # (N, 2) (row, col)
    on_camera = harris_corners(camera, min_distance=5, threshold_rel=0.005, num_peaks=300)
    # the inner grid points of the 8x8 board: 7x7 = 49 crossings
    n_inner = 49
    sec.metric("Harris corners on the checkerboard", len(on_board), expected="49 inner crossings",
               ok=len(on_board) == n_inner)  # fmt: skip
    # a crossing lies between pixels 25 k - 1 and 25 k, at 25 k - 0.5 in pixel-centre units
    offset = (on_board + 0.5) - 25 * ((on_board + 0.5) / 25).round()  # (N, 2)
    on_grid = bool((offset.abs() <= 1.0).all()) if len(on_board) else False
    sec.metric("every checkerboard corner within 1 px of a square crossing", str(on_grid),
               expected="True", ok=on_grid)  # fmt: skip
    sec.metric("Harris corners on camera (strongest, at most 300)", len(on_camera))
    fig = Figure(figsize=(12, 4), layout="constrained")
    axes = image_axes(fig, 3)
    axes[0].imshow(board.numpy(), cmap="gray")
    axes[0].plot(on_board[:, 1].numpy(), on_board[:, 0].numpy(), "r+", markersize=8)
    axes[0].set_title(f"checkerboard: {len(on_board)} corners", fontsize=9)
    axes[1].imshow(response.numpy(), cmap="RdBu_r")
    axes[1].set_title("response R: > 0 corners, < 0 edges", fontsize=9)
    axes[2].imshow(camera.numpy(), cmap="gray")
    axes[2].plot(on_camera[:, 1].numpy(), on_camera[:, 0].numpy(), "r+", markersize=5)
    axes[2].set_title(f"camera: {len(on_camera)} corners", fontsize=9)
    sec.figure(fig, "Harris: a corner is where the local structure tensor has two large "
               "eigenvalues, R = det A - k (tr A)^2 > 0; along an edge one eigenvalue is "
               "large and R < 0, in flat regions both are small.", name="harris")  # fmt: skip
