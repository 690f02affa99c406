"""Convert detection annotations between COCO JSON, Pascal VOC XML and YOLO txt.

Every format is read into the COCO-style dict of :mod:`pixlearn.data.formats.coco` and written
from it; this is what ``pixlearn data convert --from voc --to coco SRC DST`` runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pixlearn._core.check import check_choice
from pixlearn._core.errors import DataFormatError
from pixlearn.data.formats.coco import read_coco, write_coco
from pixlearn.data.formats.voc import read_voc, write_voc
from pixlearn.data.formats.yolo import IMAGE_EXTENSIONS, _image_size, read_yolo, write_yolo

__all__ = ["FORMATS", "convert"]

FORMATS = ("coco", "voc", "yolo")


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    from_fmt: str,
    to_fmt: str,
    images: str | os.PathLike[str] | Mapping[str, tuple[int, int]] | None = None,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Read annotations in one format and write them in another.

    Args:
        src: ``coco``: the JSON file; ``voc``: the folder of XML files (or a VOC root with
            ``Annotations/``); ``yolo``: the folder with ``labels/`` and ``data.yaml``.
        dst: ``coco``: the JSON file to write; ``voc``, ``yolo``: the output folder.
        from_fmt: ``"coco"``, ``"voc"`` or ``"yolo"``.
        to_fmt: ``"coco"``, ``"voc"`` or ``"yolo"``.
        images: for a YOLO source only, where the image sizes come from: a folder of the image
            files, or a mapping ``{file_name: (width, height)}``; ``None`` for the images in
            ``src/images`` (or ``src``).
        classes: for a VOC source only, the class names in category order (see
            :func:`~pixlearn.data.formats.read_voc`).

    Returns:
        The COCO-style dict that was written.

    Raises:
        ValueRangeError: an unknown format name, or ``images``/``classes`` given for a source
            that does not use them.
        DataFormatError: anything the reader or writer refuses (names the file and entry).

    Notes:
        Rounding per target: COCO keeps the floats exactly; VOC rounds every coordinate to the
        nearest integer pixel (<= 0.5 px); YOLO rounds the normalised numbers to 6 decimals
        (<= 1e-6 of the image side). VOC's ``difficult`` survives COCO (as an extra key) but not
        YOLO; COCO crowd boxes become ``difficult`` in VOC and are left out of YOLO.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> data = {"images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 20}],
        ...         "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
        ...                          "bbox": [15.0, 5.0, 10.0, 10.0]}],
        ...         "categories": [{"id": 1, "name": "dog"}]}
        >>> write_coco(data, d / "a.json")
        >>> _ = convert(d / "a.json", d / "voc", from_fmt="coco", to_fmt="voc")
        >>> back = convert(d / "voc", d / "b.json", from_fmt="voc", to_fmt="coco")
        >>> back["annotations"][0]["bbox"]
        [15.0, 5.0, 10.0, 10.0]
    """
    check_choice(from_fmt, "from_fmt", FORMATS)
    check_choice(to_fmt, "to_fmt", FORMATS)
    if images is not None and from_fmt != "yolo":
        check_choice(from_fmt, "from_fmt (images is given)", ("yolo",))
    if classes is not None and from_fmt != "voc":
        check_choice(from_fmt, "from_fmt (classes is given)", ("voc",))
    if from_fmt == "coco":
        data = read_coco(src)
    elif from_fmt == "voc":
        data = read_voc(src, classes=classes)
    elif isinstance(images, Mapping):
        data = read_yolo(src, image_sizes=images)
    elif images is not None:
        folder = Path(images)
        if not folder.is_dir():
            raise DataFormatError(f"images folder {str(folder)!r} does not exist")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        sizes = {p.name: _image_size(p) for p in files}  # from the file headers
        data = read_yolo(src, image_sizes=sizes)
    else:
        data = read_yolo(src)
    if to_fmt == "coco":
        write_coco(data, dst)
    elif to_fmt == "voc":
        write_voc(data, dst)
    else:
        write_yolo(data, dst)
    return data
