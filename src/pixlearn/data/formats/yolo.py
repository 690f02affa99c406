r"""YOLO txt: one label file per image, a line ``class cx cy w h`` normalised by the image size.

The layout is Ultralytics': ``<folder>/images/<name>.<ext>`` and ``<folder>/labels/<name>.txt``
(or both side by side in ``<folder>``), and a ``data.yaml`` whose ``names`` lists the classes
(a list, or a mapping ``{0: name, 1: name}``). Class ``k`` of the file is COCO category
``k + 1`` (categories are numbered from 1, as in COCO). The labels do not hold the image size,
so the reader takes it from the image files' headers (Pillow reads only the header) or from a
given mapping. A line with more than 4 numbers after the class is a polygon
``class x0 y0 x1 y1 ...`` (YOLO segmentation labels): its box is the polygon's extent.

Conversion, with :math:`(W, H)` the image size:

.. math::
    c_x = \frac{x + w/2}{W},\quad c_y = \frac{y + h/2}{H},\quad
    w_n = \frac{w}{W},\quad h_n = \frac{h}{H}.

Writing rounds each normalised number to ``decimals`` (6) decimals, so a box corner moves by at
most :math:`10^{-6}\max(W, H)` pixels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from pixlearn._core.check import check_int
from pixlearn._core.errors import DataFormatError
from pixlearn.data.formats.coco import validate_coco

__all__ = ["IMAGE_EXTENSIONS", "read_yolo", "write_yolo"]

IMAGE_EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")


def _read_names(path: Path) -> list[str]:
    """The class names of a ``data.yaml``, in class-index order."""
    if not path.is_file():
        raise DataFormatError(f"YOLO data.yaml {str(path)!r} does not exist")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise DataFormatError(f"malformed YOLO data.yaml {str(path)!r}: {err}") from err
    names = spec.get("names") if isinstance(spec, dict) else None
    if isinstance(names, dict):
        keys = sorted(names)
        if keys != list(range(len(keys))):
            raise DataFormatError(
                f"YOLO data.yaml {str(path)!r}: 'names' keys must be 0..K-1, got {keys}"
            )
        names = [names[k] for k in keys]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DataFormatError(f"YOLO data.yaml {str(path)!r}: needs 'names', a list of strings")
    return names


def _image_size(path: Path) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size  # (width, height), from the header only
    except OSError as err:
        raise DataFormatError(f"cannot read the size of image {str(path)!r}: {err}") from err


def _parse_line(line: str, where: str, n_classes: int, w: int, h: int) -> dict[str, Any]:
    parts = line.split()
    try:
        cls = int(parts[0])
        values = [float(v) for v in parts[1:]]
    except ValueError:
        raise DataFormatError(f"{where}: not 'class cx cy w h' numbers: {line!r}") from None
    if not 0 <= cls < n_classes:
        raise DataFormatError(f"{where}: class {cls} not in 0..{n_classes - 1} (data.yaml names)")
    if not all(math.isfinite(v) for v in values):
        raise DataFormatError(f"{where}: non-finite value in {line!r}")
    ann: dict[str, Any] = {"category_id": cls + 1}
    if len(values) == 4:
        cx, cy, wn, hn = values
        if wn < 0 or hn < 0:
            raise DataFormatError(f"{where}: negative box size in {line!r}")
        # x = (cx - w/2) W, y = (cy - h/2) H, in pixels
        ann["bbox"] = [(cx - wn / 2) * w, (cy - hn / 2) * h, wn * w, hn * h]
    elif len(values) >= 6 and len(values) % 2 == 0:
        xs, ys = [v * w for v in values[0::2]], [v * h for v in values[1::2]]
        ann["segmentation"] = [[c for xy in zip(xs, ys, strict=True) for c in xy]]
        ann["bbox"] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    else:
        raise DataFormatError(
            f"{where}: needs 'class cx cy w h' or a polygon of >= 3 points, got {line!r}"
        )
    return ann


def read_yolo(
    folder: str | os.PathLike[str],
    data_yaml: str | os.PathLike[str] | None = None,
    *,
    image_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """Read a YOLO label folder into the COCO-style dict.

    Args:
        folder: holds ``labels/`` (and ``images/``), or the label and image files themselves.
        data_yaml: the YAML file with ``names``; ``None`` for ``<folder>/data.yaml``.
        image_sizes: ``{file_name: (width, height)}``; the images are then these names (no
            image file is opened) and their labels ``labels/<stem>.txt``. ``None``: every image
            file found (``IMAGE_EXTENSIONS``), sizes from the file headers.

    Returns:
        The COCO dict: images numbered 1, 2, ... in sorted file-name order, categories 1..K in
        ``names`` order, continuous ``[x, y, w, h]`` boxes. An image without a label file has
        no objects.

    Raises:
        DataFormatError: a missing or malformed ``data.yaml``, a label line that is not
            ``class cx cy w h`` (or a polygon of >= 3 points), a class outside ``names``, a box
            outside the image, a label file without an image, an unreadable image; the message
            names the file and line.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "data.yaml").write_text("names: [cat, dog]\\n")
        >>> (d / "labels").mkdir()
        >>> _ = (d / "labels" / "a.txt").write_text("1 0.5 0.5 0.25 0.5\\n")
        >>> data = read_yolo(d, image_sizes={"a.png": (40, 20)})
        >>> data["annotations"][0]["bbox"], data["annotations"][0]["category_id"]
        ([15.0, 5.0, 10.0, 10.0], 2)

    References:
        Redmon, J. et al. "You Only Look Once: Unified, Real-Time Object Detection." CVPR 2016.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(f"YOLO folder {str(folder)!r} does not exist")
    names = _read_names(folder / "data.yaml" if data_yaml is None else Path(data_yaml))
    labels = folder / "labels" if (folder / "labels").is_dir() else folder
    pictures = folder / "images" if (folder / "images").is_dir() else folder
    if image_sizes is None:
        files = sorted(p for p in pictures.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        sizes = {p.name: _image_size(p) for p in files}
    else:
        sizes = {}
        for name, wh in image_sizes.items():
            if not (isinstance(wh, (tuple, list)) and len(wh) == 2):
                raise DataFormatError(f"image_sizes[{name!r}] must be (width, height), got {wh!r}")
            sizes[str(name)] = (
                check_int(wh[0], f"image_sizes[{name!r}] width", min_value=1),
                check_int(wh[1], f"image_sizes[{name!r}] height", min_value=1),
            )
    stems = {Path(n).stem for n in sizes}
    for txt in sorted(labels.glob("*.txt")):
        if txt.stem not in stems:
            raise DataFormatError(f"YOLO label file {str(txt)!r} has no image in {str(pictures)!r}")

    images, annotations = [], []
    for i, name in enumerate(sorted(sizes)):
        w, h = sizes[name]
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
        txt = labels / f"{Path(name).stem}.txt"
        if not txt.is_file():
            continue
        try:
            lines = txt.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise DataFormatError(f"cannot read YOLO label file {str(txt)!r}: {err}") from err
        for n, line in enumerate(lines):
            if not line.strip():
                continue
            where = f"YOLO label file {str(txt)!r}: line {n + 1}"
            ann = _parse_line(line, where, len(names), w, h)
            ann.update(id=len(annotations) + 1, image_id=i + 1, iscrowd=0)
            ann["area"] = ann["bbox"][2] * ann["bbox"][3]
            validate_coco(
                {
                    "images": [images[-1]],
                    "annotations": [ann],
                    "categories": [
                        {"id": ann["category_id"], "name": names[ann["category_id"] - 1]}
                    ],
                },
                source=where,
            )
            annotations.append(ann)
    categories = [{"id": k + 1, "name": n} for k, n in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}


def write_yolo(data: dict[str, Any], folder: str | os.PathLike[str], *, decimals: int = 6) -> Path:
    """Write YOLO labels ``<folder>/labels/<stem>.txt`` and ``<folder>/data.yaml``.

    Images are not copied: put them in ``<folder>/images``. Categories become classes
    ``0..K-1`` in increasing category-id order. Crowd annotations (``iscrowd = 1``) are left out
    (YOLO has no "ignore" region; Ultralytics' COCO converter drops them too), and so are the
    ``difficult`` flags and segmentations. Every image gets a label file, empty when it has no
    object.

    Args:
        data: a COCO-style dict.
        folder: the output folder (created).
        decimals: decimals of the normalised numbers, >= 1.

    Returns:
        The path of the written ``data.yaml``.

    Raises:
        DataFormatError: ``data`` is not a valid COCO dict, two images share a file stem, or a
            file cannot be written.

    Example:
        >>> import tempfile, pathlib
        >>> data = {"images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 20}],
        ...         "annotations": [{"id": 1, "image_id": 1, "category_id": 7,
        ...                          "bbox": [15.0, 5.0, 10.0, 10.0]}],
        ...         "categories": [{"id": 7, "name": "dog"}]}
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = write_yolo(data, d)
        >>> (d / "labels" / "a.txt").read_text()
        '0 0.500000 0.500000 0.250000 0.500000\\n'
    """
    data = validate_coco(data, source="data")
    decimals = check_int(decimals, "decimals", min_value=1)
    folder = Path(folder)
    cats = sorted(c["id"] for c in data["categories"])
    index = {cid: k for k, cid in enumerate(cats)}
    names = {c["id"]: c["name"] for c in data["categories"]}
    stems = [Path(img["file_name"]).stem for img in data["images"]]
    if len(set(stems)) != len(stems):
        raise DataFormatError("data: two images share a file name stem; YOLO needs one txt each")
    lines: dict[int, list[str]] = {img["id"]: [] for img in data["images"]}
    sizes = {img["id"]: (img["width"], img["height"]) for img in data["images"]}
    for ann in data["annotations"]:
        if ann["iscrowd"]:
            continue
        W, H = sizes[ann["image_id"]]
        x, y, w, h = ann["bbox"]
        # cx = (x + w/2) / W, cy = (y + h/2) / H, w / W, h / H
        values = ((x + w / 2) / W, (y + h / 2) / H, w / W, h / H)
        text = " ".join(f"{v:.{decimals}f}" for v in values)
        lines[ann["image_id"]].append(f"{index[ann['category_id']]} {text}")
    try:
        (folder / "labels").mkdir(parents=True, exist_ok=True)
        for img, stem in zip(data["images"], stems, strict=True):
            body = "".join(f"{line}\n" for line in lines[img["id"]])
            (folder / "labels" / f"{stem}.txt").write_text(body, encoding="utf-8")
        spec = {
            "path": str(folder.resolve()),
            "train": "images",
            "val": "images",
            "nc": len(cats),
            "names": {k: names[cid] for k, cid in enumerate(cats)},
        }
        yaml_path = folder / "data.yaml"
        yaml_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    except OSError as err:
        raise DataFormatError(f"cannot write YOLO files to {str(folder)!r}: {err}") from err
    return yaml_path
