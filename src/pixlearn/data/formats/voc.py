r"""Pascal VOC XML: one ``<annotation>`` file per image, boxes in 1-based inclusive pixels.

VOC writes a box as the first and last pixel it covers, counted from 1: ``xmin = 1, xmax = W``
is the whole width. pixlearn's continuous coordinates give pixel ``i`` (0-based) the span
``[i, i + 1)``, so

.. math::
    x_1 = x_{min} - 1,\quad x_2 = x_{max} \qquad\text{and back}\qquad
    x_{min} = \mathrm{round}(x_1) + 1,\quad x_{max} = \max(\mathrm{round}(x_2), x_{min}),

(the same for ``y``). The width :math:`x_{max} - x_{min} + 1` of the VOC devkit is exactly
:math:`x_2 - x_1`, so areas and IoUs agree with the devkit's "+1" formulas. Writing rounds
each coordinate to the nearest pixel (at most 0.5 px off; a box narrower than one pixel becomes
one pixel wide).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pixlearn._core.errors import DataFormatError
from pixlearn.data.formats.coco import BOX_TOLERANCE, validate_coco

__all__ = ["read_voc", "write_voc"]


def _text(node: ET.Element, tag: str, where: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise DataFormatError(f"{where}: missing <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, where: str) -> float:
    text = _text(node, tag, where)
    try:
        return float(text)
    except ValueError:
        raise DataFormatError(f"{where}: <{tag}> must be a number, got {text!r}") from None


def _parse(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One VOC file -> (image dict without id, objects with name/xyxy/difficult)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise DataFormatError(f"malformed XML in VOC file {str(path)!r}: {err}") from err
    except OSError as err:
        raise DataFormatError(f"cannot read VOC file {str(path)!r}: {err}") from err
    where = f"VOC file {str(path)!r}"
    if root.tag != "annotation":
        raise DataFormatError(f"{where}: root element must be <annotation>, got <{root.tag}>")
    size = root.find("size")
    if size is None:
        raise DataFormatError(f"{where}: missing <size>")
    width, height = _number(size, "width", where), _number(size, "height", where)
    if width < 1 or height < 1 or width != int(width) or height != int(height):
        raise DataFormatError(f"{where}: <size> must hold positive integers")
    filename = root.findtext("filename", default=path.with_suffix(".jpg").name).strip()
    image = {"file_name": filename, "width": int(width), "height": int(height)}
    objects = []
    for k, obj in enumerate(root.findall("object")):
        owhere = f"{where}: object {k}"
        box = obj.find("bndbox")
        if box is None:
            raise DataFormatError(f"{owhere}: missing <bndbox>")
        xmin, ymin = _number(box, "xmin", owhere), _number(box, "ymin", owhere)
        xmax, ymax = _number(box, "xmax", owhere), _number(box, "ymax", owhere)
        if xmax < xmin or ymax < ymin:
            raise DataFormatError(
                f"{owhere}: needs xmin <= xmax and ymin <= ymax, got {(xmin, ymin, xmax, ymax)}"
            )
        difficult = obj.findtext("difficult", default="0").strip()
        # 1-based inclusive pixels -> continuous: x1 = xmin - 1, x2 = xmax
        xyxy = [xmin - 1.0, ymin - 1.0, xmax, ymax]
        t = BOX_TOLERANCE
        if xyxy[0] < -t or xyxy[1] < -t or xmax > width + t or ymax > height + t:
            raise DataFormatError(
                f"{owhere}: box {(xmin, ymin, xmax, ymax)} lies outside the image "
                f"({int(width)}x{int(height)})"
            )
        objects.append({"name": _text(obj, "name", owhere), "xyxy": xyxy, "index": k})
        objects[-1]["difficult"] = 1 if difficult in ("1", "true", "True") else 0
    return image, objects


def read_voc(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Read Pascal VOC XML files into the COCO-style dict.

    Args:
        source: a folder (every ``*.xml`` in it, sorted by name; a VOC root with an
            ``Annotations`` sub-folder also works) or a list of XML files.
        classes: the class names; category ``k + 1`` is ``classes[k]``, and an object of
            another class is an error. ``None``: every name found, sorted alphabetically.

    Returns:
        The COCO dict: images numbered 1, 2, ... in file order, categories 1..K, boxes
        converted to continuous ``[x, y, w, h]`` (see the module docstring); each annotation
        keeps ``difficult`` (0/1), ``iscrowd`` is 0.

    Raises:
        DataFormatError: malformed XML, a missing field, ``xmax < xmin``, a box outside the
            image, an unknown class name, a missing folder; the message names the file (and
            the object index).

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "a.xml").write_text(
        ...     "<annotation><filename>a.png</filename><size><width>10</width>"
        ...     "<height>8</height></size><object><name>dog</name><difficult>1</difficult>"
        ...     "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>5</xmax><ymax>8</ymax></bndbox>"
        ...     "</object></annotation>")
        >>> ann = read_voc(d)["annotations"][0]
        >>> ann["bbox"], ann["difficult"]
        ([0.0, 1.0, 5.0, 7.0], 1)

    References:
        Everingham, M. et al. "The Pascal Visual Object Classes (VOC) Challenge." IJCV 2010.
    """
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if (folder / "Annotations").is_dir():
            folder = folder / "Annotations"
        if not folder.is_dir():
            raise DataFormatError(f"VOC folder {str(folder)!r} does not exist")
        files = sorted(folder.glob("*.xml"))
    else:
        files = [Path(p) for p in source]
    parsed = [(f, *_parse(f)) for f in files]
    if classes is None:
        names = sorted({o["name"] for _, _, objs in parsed for o in objs})
    else:
        names = [str(c) for c in classes]
        if len(set(names)) != len(names):
            raise DataFormatError(f"classes must be unique names, got {names}")
    cat_id = {n: k + 1 for k, n in enumerate(names)}
    images, annotations = [], []
    for i, (f, image, objects) in enumerate(parsed):
        images.append({"id": i + 1, **image})
        for o in objects:
            if o["name"] not in cat_id:
                raise DataFormatError(
                    f"VOC file {str(f)!r}: object {o['index']}: unknown class name "
                    f"{o['name']!r} (classes: {names})"
                )
            x1, y1, x2, y2 = o["xyxy"]
            ann = {"id": len(annotations) + 1, "image_id": i + 1, "category_id": cat_id[o["name"]]}
            ann.update(bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1), iscrowd=0)
            ann["difficult"] = o["difficult"]
            annotations.append(ann)
    categories = [{"id": k + 1, "name": n} for k, n in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}


def _add(parent: ET.Element, tag: str, text: object) -> ET.Element:
    node = ET.SubElement(parent, tag)
    node.text = str(text)
    return node


def write_voc(data: dict[str, Any], folder: str | os.PathLike[str]) -> list[Path]:
    """Write one VOC XML file per image: ``<folder>/<image file stem>.xml``.

    Args:
        data: a COCO-style dict. ``difficult`` is written as is; a crowd annotation
            (``iscrowd = 1``) becomes ``difficult = 1``, the VOC way of saying "ignore it".
            Segmentations are not written (VOC keeps them in separate PNG masks).
        folder: the output folder (created).

    Returns:
        The written files, in image order.

    Raises:
        DataFormatError: ``data`` is not a valid COCO dict, two images share a file stem, or a
            file cannot be written.

    Example:
        >>> import tempfile, pathlib
        >>> data = {"images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 8}],
        ...         "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
        ...                          "bbox": [0.0, 1.0, 5.0, 7.0]}],
        ...         "categories": [{"id": 1, "name": "dog"}]}
        >>> f = write_voc(data, tempfile.mkdtemp())[0]
        >>> read_voc([f])["annotations"][0]["bbox"]
        [0.0, 1.0, 5.0, 7.0]
    """
    data = validate_coco(data, source="data")
    folder = Path(folder)
    names = {c["id"]: c["name"] for c in data["categories"]}
    by_image: dict[int, list[dict[str, Any]]] = {img["id"]: [] for img in data["images"]}
    for ann in data["annotations"]:
        by_image[ann["image_id"]].append(ann)
    stems = [Path(img["file_name"]).stem for img in data["images"]]
    if len(set(stems)) != len(stems):
        raise DataFormatError("data: two images share a file name stem; VOC needs one XML each")
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for img, stem in zip(data["images"], stems, strict=True):
            root = ET.Element("annotation")
            _add(root, "folder", folder.name)
            _add(root, "filename", img["file_name"])
            size = ET.SubElement(root, "size")
            _add(size, "width", img["width"])
            _add(size, "height", img["height"])
            _add(size, "depth", 3)
            for ann in by_image[img["id"]]:
                obj = ET.SubElement(root, "object")
                _add(obj, "name", names[ann["category_id"]])
                _add(obj, "pose", "Unspecified")
                _add(obj, "truncated", 0)
                _add(obj, "difficult", int(bool(ann.get("difficult", 0) or ann["iscrowd"])))
                x, y, w, h = ann["bbox"]
                # continuous -> 1-based inclusive: xmin = round(x1) + 1, xmax = round(x2)
                xmin, ymin = round(x) + 1, round(y) + 1
                xmax, ymax = max(round(x + w), xmin), max(round(y + h), ymin)
                box = ET.SubElement(obj, "bndbox")
                for tag, v in zip(
                    ("xmin", "ymin", "xmax", "ymax"), (xmin, ymin, xmax, ymax), strict=True
                ):
                    _add(box, tag, v)
            ET.indent(root)
            path = folder / f"{stem}.xml"
            ET.ElementTree(root).write(path, encoding="utf-8")
            written.append(path)
    except OSError as err:
        raise DataFormatError(f"cannot write VOC files to {str(folder)!r}: {err}") from err
    return written
