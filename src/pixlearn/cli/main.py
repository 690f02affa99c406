"""The `pixlearn` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import pixlearn
from pixlearn.cli.run import register as register_run_commands

__all__ = ["app", "main"]

app = typer.Typer(
    name="pixlearn",
    help="Machine learning in image processing, end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
simulate_app = typer.Typer(help="Simulate images with perfect ground truth.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")
data_app = typer.Typer(
    help="Data sets: convert annotation formats, check a data set.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
register_run_commands(app)  # pixlearn <task> <mode> ..., pixlearn models, pixlearn model summary


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pixlearn {pixlearn.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Machine learning in image processing, end to end."""


@app.command()
def info() -> None:
    """Print the environment (pixlearn, Python, torch, devices, threads) and the modules."""
    from pixlearn.cli.info import print_info

    print_info()


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html.")] = Path("runs/demo"),
    quick: Annotated[bool, typer.Option("--quick", help="Smaller sizes, fewer views.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random step.")] = 0,
) -> None:
    """Run every implemented chapter on built-in data and write OUT/report.html."""
    from pixlearn.cli.demo import run_demo

    _, ok = run_demo(out, quick=quick, seed=seed)
    if not ok:
        raise typer.Exit(code=1)


@simulate_app.command("microscope")
def simulate_microscope(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of images.")] = 8,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "runs/simulate/microscope"
    ),
    size: Annotated[int, typer.Option("--size", min=16, help="Image side in pixels.")] = 256,
    na: Annotated[float, typer.Option("--na", help="Numerical aperture.")] = 0.8,
    photons: Annotated[
        float, typer.Option("--photons", help="Expected photons at intensity 1.")
    ] = 200.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Write N simulated fluorescence images and their label masks as TIFF files."""
    from rich.console import Console

    from pixlearn.imaging.microscope import VirtualMicroscope, simulate_dataset

    microscope = VirtualMicroscope(na=na, photons=photons)
    path = simulate_dataset(n, out, size=size, microscope=microscope, seed=seed)
    Console().print(f"wrote {n} images and masks to [bold]{path}[/bold]")


@data_app.command("convert")
def data_convert(
    src: Annotated[Path, typer.Argument(help="COCO JSON file, VOC folder or YOLO folder.")],
    dst: Annotated[Path, typer.Argument(help="COCO JSON file, VOC folder or YOLO folder.")],
    from_fmt: Annotated[str, typer.Option("--from", help="coco, voc or yolo.")],
    to_fmt: Annotated[str, typer.Option("--to", help="coco, voc or yolo.")],
    images: Annotated[
        Path | None, typer.Option("--images", help="YOLO source: folder of the images.")
    ] = None,
    classes: Annotated[
        str | None, typer.Option("--classes", help="VOC source: class names, comma-separated.")
    ] = None,
) -> None:
    """Convert detection annotations between COCO JSON, Pascal VOC XML and YOLO txt."""
    from rich.console import Console

    from pixlearn._core.errors import PixlearnError
    from pixlearn.data.formats import convert

    console = Console()
    names = [c.strip() for c in classes.split(",")] if classes else None
    try:
        data = convert(src, dst, from_fmt=from_fmt, to_fmt=to_fmt, images=images, classes=names)
    except (PixlearnError, FileNotFoundError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    console.print(
        f"wrote {len(data['images'])} images, {len(data['annotations'])} boxes and "
        f"{len(data['categories'])} classes as {to_fmt} to [bold]{dst}[/bold]"
    )


@data_app.command("check")
def data_check(
    data: Annotated[
        str, typer.Argument(help="Data-set spec: digits, folder:/path, mnist:/root, ... (data=X).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for mosaic.png.")] = Path(
        "runs/data/check"
    ),
) -> None:
    """Count a classification data set per class and split, list its problems, draw a mosaic."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from pixlearn._core.errors import PixlearnError
    from pixlearn.data.datasets import check_dataset

    spec = data.removeprefix("data=")
    console = Console()
    try:
        report = check_dataset(spec, out=out)
    except (PixlearnError, FileNotFoundError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    table = Table(title=f"{spec}: {len(report.classes)} classes")
    table.add_column("class")
    for split in report.counts:
        table.add_column(split, justify="right")
    for k, name in enumerate(report.classes):
        table.add_row(name, *(str(c[k]) for c in report.counts.values()))
    table.add_row("total", *(str(sum(c)) for c in report.counts.values()), style="bold")
    console.print(table)
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {escape(problem)}", highlight=False)
    if report.ok:
        console.print("no problems found")
    if report.mosaic is not None:
        console.print(f"wrote the mosaic to [bold]{report.mosaic}[/bold]")
    if not report.ok:
        raise typer.Exit(code=1)


def main() -> None:
    """Entry point of the console script."""
    app()


if __name__ == "__main__":
    main()
