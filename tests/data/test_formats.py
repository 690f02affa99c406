import json

import pytest
import torch

from pixlearn._core.errors import DataFormatError
from pixlearn.data.formats import (
    convert,
    read_coco,
    read_voc,
    read_yolo,
    validate_coco,
    write_coco,
    write_voc,
    write_yolo,
)
from pixlearn.io import write_image

NAMES = ["cat", "dog", "bird"]


def _dataset():
    """3 images of different sizes, 3 classes, integer-pixel boxes, one difficult object."""
    images = [
        {"id": 1, "file_name": "a.png", "width": 40, "height": 30},
        {"id": 2, "file_name": "b.png", "width": 64, "height": 48},
        {"id": 3, "file_name": "c.png", "width": 20, "height": 20},  # no objects
    ]
    boxes = [(1, 1, [0, 0, 10, 12], 0), (1, 3, [5, 7, 35, 23], 1), (2, 3, [10, 20, 54, 28], 0)]
    boxes.append((2, 2, [63, 47, 1, 1], 0))  # 1x1 box in the bottom-right pixel
    anns = [
        {"id": k + 1, "image_id": i, "category_id": c, "bbox": b, "iscrowd": 0, "difficult": d}
        for k, (i, c, b, d) in enumerate(boxes)
    ]
    cats = [{"id": k + 1, "name": n} for k, n in enumerate(NAMES)]
    return {"images": images, "annotations": anns, "categories": cats}


def _boxes_by_class(data):
    names = {c["id"]: c["name"] for c in data["categories"]}
    files = {im["id"]: im["file_name"] for im in data["images"]}
    return sorted(
        (files[a["image_id"]], names[a["category_id"]], *a["bbox"]) for a in data["annotations"]
    )


def _write_pngs(data, folder):
    for im in data["images"]:
        write_image(folder / im["file_name"], torch.rand(3, im["height"], im["width"]))


# ---- round trips -------------------------------------------------------------------------


def test_round_trip_coco_voc_yolo_coco(tmp_path):
    data = _dataset()
    write_coco(data, tmp_path / "in.json")
    convert(tmp_path / "in.json", tmp_path / "voc", from_fmt="coco", to_fmt="voc")
    voc = read_voc(tmp_path / "voc")
    assert [a["difficult"] for a in voc["annotations"]] == [0, 1, 0, 0]
    convert(tmp_path / "voc", tmp_path / "yolo", from_fmt="voc", to_fmt="yolo")
    _write_pngs(data, tmp_path / "yolo" / "images")  # sizes come from the PNG headers
    back = convert(tmp_path / "yolo", tmp_path / "out.json", from_fmt="yolo", to_fmt="coco")
    assert read_coco(tmp_path / "out.json") == validate_coco(back)
    a, b = _boxes_by_class(data), _boxes_by_class(back)
    assert [r[:2] for r in a] == [r[:2] for r in b]  # files and class names
    # integer boxes survive VOC exactly; YOLO's 6 decimals move them by <= 1e-6 * 64 px
    err = max(
        abs(x - y) for r, s in zip(a, b, strict=True) for x, y in zip(r[2:], s[2:], strict=True)
    )
    assert err <= 64e-6
    assert [im["width"] for im in back["images"]] == [40, 64, 20]


def test_voc_rounds_fractional_boxes_to_the_nearest_pixel(tmp_path):
    data = _dataset()
    data["annotations"][0]["bbox"] = [0.4, 1.6, 9.3, 10.2]  # x2 = 9.7, y2 = 11.8
    data["annotations"][1]["bbox"] = [3.2, 3.0, 0.2, 4.0]  # narrower than a pixel
    write_voc(data, tmp_path)
    back = read_voc(tmp_path, classes=NAMES)
    assert back["annotations"][0]["bbox"] == [0.0, 2.0, 10.0, 10.0]
    assert back["annotations"][1]["bbox"] == [3.0, 3.0, 1.0, 4.0]  # one pixel wide


def test_crowd_is_difficult_in_voc_and_left_out_of_yolo(tmp_path):
    data = _dataset()
    data["annotations"][0]["iscrowd"] = 1
    write_voc(data, tmp_path / "voc")
    assert read_voc(tmp_path / "voc")["annotations"][0]["difficult"] == 1
    write_yolo(data, tmp_path / "yolo")
    assert (tmp_path / "yolo" / "labels" / "a.txt").read_text().count("\n") == 1


# ---- readers against hand-written files --------------------------------------------------

VOC_XML = """<annotation>
  <folder>VOC2007</folder><filename>000005.jpg</filename>
  <size><width>500</width><height>375</height><depth>3</depth></size>
  <object><name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
    <bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox></object>
  <object><name>chair</name><difficult>1</difficult>
    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>500</xmax><ymax>375</ymax></bndbox></object>
  <object><name>table</name>
    <bndbox><xmin>10</xmin><ymin>20</ymin><xmax>10</xmax><ymax>20</ymax></bndbox></object>
</annotation>"""


def test_voc_xml_parsed_equals_hand_numbers(tmp_path):
    (tmp_path / "000005.xml").write_text(VOC_XML)
    data = read_voc(tmp_path)
    assert data["images"] == [{"id": 1, "file_name": "000005.jpg", "width": 500, "height": 375}]
    assert data["categories"] == [{"id": 1, "name": "chair"}, {"id": 2, "name": "table"}]
    a = data["annotations"]
    # 1-based inclusive -> continuous: x = xmin - 1, w = xmax - xmin + 1
    assert a[0]["bbox"] == [262.0, 210.0, 62.0, 129.0] and a[0]["area"] == 62.0 * 129.0
    assert a[1]["bbox"] == [0.0, 0.0, 500.0, 375.0] and a[1]["difficult"] == 1
    assert a[2]["bbox"] == [9.0, 19.0, 1.0, 1.0] and a[2]["difficult"] == 0
    assert [x["category_id"] for x in a] == [1, 1, 2]
    # the Annotations/ sub-folder of a VOC root and an explicit file list give the same
    (tmp_path / "root" / "Annotations").mkdir(parents=True)
    (tmp_path / "root" / "Annotations" / "000005.xml").write_text(VOC_XML)
    assert read_voc(tmp_path / "root") == data == read_voc([tmp_path / "000005.xml"])
    with_classes = read_voc(tmp_path, classes=["table", "chair", "sofa"])
    assert [x["category_id"] for x in with_classes["annotations"]] == [2, 2, 1]


def test_yolo_lines_equal_closed_form(tmp_path):
    data = _dataset()
    write_yolo(data, tmp_path)
    lines = (tmp_path / "labels" / "b.txt").read_text().splitlines()
    # bbox [10, 20, 54, 28] in 64x48, class index 2: cx = 37/64, cy = 34/48, w = 54/64, h = 28/48
    cls, *v = lines[0].split()
    assert cls == "2"
    expected = [37 / 64, 34 / 48, 54 / 64, 28 / 48]
    assert all(abs(float(x) - e) <= 5e-7 for x, e in zip(v, expected, strict=True))
    assert lines[1].split()[0] == "1"
    assert (tmp_path / "labels" / "c.txt").read_text() == ""
    assert "names" in (tmp_path / "data.yaml").read_text()


def test_yolo_polygon_lines_and_names_mapping(tmp_path):
    (tmp_path / "data.yaml").write_text("names:\n  0: a\n  1: b\n")
    (tmp_path / "x.txt").write_text("1 0.1 0.2 0.5 0.2 0.3 0.6\n\n0 0.5 0.5 1 1\n")
    data = read_yolo(tmp_path, image_sizes={"x.jpg": (100, 50)})
    a = data["annotations"]
    assert a[0]["category_id"] == 2 and a[1]["category_id"] == 1
    assert a[0]["bbox"] == pytest.approx([10.0, 10.0, 40.0, 20.0])
    assert a[0]["segmentation"] == [pytest.approx([10.0, 10.0, 50.0, 10.0, 30.0, 30.0])]
    assert a[1]["bbox"] == [0.0, 0.0, 100.0, 50.0]


def test_coco_keeps_segmentation_and_defaults(tmp_path):
    data = _dataset()
    data["annotations"][0]["segmentation"] = [[0, 0, 10, 0, 10, 12]]
    data["annotations"][2]["segmentation"] = {"size": [48, 64], "counts": "abc"}
    del data["annotations"][1]["iscrowd"]
    write_coco(data, tmp_path / "a.json")
    back = read_coco(tmp_path / "a.json")
    assert back["annotations"][0]["segmentation"] == [[0, 0, 10, 0, 10, 12]]
    assert back["annotations"][1]["iscrowd"] == 0
    assert back["annotations"][1]["area"] == 35.0 * 23.0
    assert data["annotations"][1].get("area") is None  # the input is not modified


# ---- bad input ---------------------------------------------------------------------------


def _bad_coco(tmp_path, edit):
    data = _dataset()
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["annotations"][2].update(image_id=9), r"annotations\[2\] \(id 3\).*image_id"),
        (lambda d: d["annotations"][1].update(category_id=7), r"annotations\[1\].*category_id"),
        (
            lambda d: d["annotations"][0].update(segmentation=[[1, 2, 3, 4]]),
            r"annotations\[0\].*3 p",
        ),
        (lambda d: d["annotations"][3].update(bbox=[1, 1, -2, 3]), r"annotations\[3\].*>= 0"),
        (lambda d: d["annotations"][0].update(bbox=[30, 0, 20, 5]), r"annotations\[0\].*outside"),
        (lambda d: d["annotations"][0].update(bbox=[0, 0, 1]), r"annotations\[0\].*4 finite"),
        (lambda d: d["annotations"][1].update(id=1), r"annotations\[1\].*duplicate"),
        (lambda d: d["images"][1].pop("width"), r"images\[1\].*width"),
        (lambda d: d.pop("categories"), "categories"),
    ],
)
def test_bad_coco_names_entry_and_file(tmp_path, edit, match):
    path = _bad_coco(tmp_path, edit)
    with pytest.raises(DataFormatError, match=match) as info:
        read_coco(path)
    assert "bad.json" in str(info.value)


def test_malformed_and_missing_files_name_the_file(tmp_path):
    (tmp_path / "x.json").write_text('{"images": [')
    with pytest.raises(DataFormatError, match=r"malformed JSON.*x\.json"):
        read_coco(tmp_path / "x.json")
    with pytest.raises(DataFormatError, match=r"nope\.json"):
        read_coco(tmp_path / "nope.json")
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "a.xml").write_text("<annotation><size>")
    with pytest.raises(DataFormatError, match=r"malformed XML.*a\.xml"):
        read_voc(tmp_path / "v")
    with pytest.raises(DataFormatError, match="does not exist"):
        read_voc(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"bad\.json"):  # DataFormatError is a ValueError
        read_coco(_bad_coco(tmp_path, lambda d: d["annotations"][0].update(image_id=5)))


@pytest.mark.parametrize(
    ("xml", "kwargs", "match"),
    [
        (VOC_XML, {"classes": ["chair"]}, r"object 2: unknown class name 'table'"),
        (VOC_XML.replace("<xmax>324", "<xmax>200"), {}, r"object 0: needs xmin <= xmax"),
        (VOC_XML.replace("<xmax>500", "<xmax>520"), {}, r"object 1: box .* outside"),
        (VOC_XML.replace("<ymin>211</ymin>", ""), {}, r"object 0: missing <ymin>"),
        (VOC_XML.replace("<xmin>263", "<xmin>x263"), {}, r"object 0: <xmin> must be a number"),
        (VOC_XML.replace("<size>", "<sz>").replace("</size>", "</sz>"), {}, "missing <size>"),
    ],
)
def test_bad_voc_names_object_and_file(tmp_path, xml, kwargs, match):
    (tmp_path / "img7.xml").write_text(xml)
    with pytest.raises(DataFormatError, match=match) as info:
        read_voc(tmp_path, **kwargs)
    assert "img7.xml" in str(info.value)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("3 0.5 0.5 0.1 0.1", r"line 2: class 3 not in 0\.\.1"),
        ("0 0.5 0.5 -0.1 0.1", "line 2: negative box size"),
        ("0 0.1 0.1 0.2 0.2 0.3", r"line 2: needs .* polygon of >= 3 points"),  # odd count
        ("0 0.5 0.5 0.1", "line 2: needs"),
        ("0 a b c d", "line 2: not 'class cx cy w h'"),
        ("0 0.95 0.5 0.2 0.2", r"line 2.*outside"),
    ],
)
def test_bad_yolo_names_line_and_file(tmp_path, line, match):
    (tmp_path / "data.yaml").write_text("names: [a, b]\n")
    (tmp_path / "p.txt").write_text(f"0 0.5 0.5 0.2 0.2\n{line}\n")
    with pytest.raises(DataFormatError, match=match) as info:
        read_yolo(tmp_path, image_sizes={"p.png": (100, 100)})
    assert "p.txt" in str(info.value)


def test_yolo_missing_yaml_orphan_label_and_bad_yaml(tmp_path):
    with pytest.raises(DataFormatError, match=r"data\.yaml.*does not exist"):
        read_yolo(tmp_path, image_sizes={})
    (tmp_path / "data.yaml").write_text("nc: 2\n")
    with pytest.raises(DataFormatError, match="names"):
        read_yolo(tmp_path, image_sizes={})
    (tmp_path / "data.yaml").write_text("names: [a]\n")
    (tmp_path / "q.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(DataFormatError, match=r"q\.txt.*has no image"):
        read_yolo(tmp_path, image_sizes={"other.png": (10, 10)})


def test_writers_refuse_invalid_data_and_shared_stems(tmp_path):
    data = _dataset()
    data["images"][2]["file_name"] = "a.jpg"  # same stem as a.png
    with pytest.raises(DataFormatError, match="stem"):
        write_voc(data, tmp_path)
    with pytest.raises(DataFormatError, match="stem"):
        write_yolo(data, tmp_path)
    data = _dataset()
    data["annotations"][0]["category_id"] = 99
    with pytest.raises(DataFormatError, match=r"annotations\[0\].*category_id"):
        write_coco(data, tmp_path / "x.json")


def test_convert_refuses_unknown_format_and_misplaced_options(tmp_path):
    with pytest.raises(ValueError, match="from_fmt"):
        convert(tmp_path, tmp_path, from_fmt="pascal", to_fmt="coco")
    with pytest.raises(ValueError, match="to_fmt"):
        convert(tmp_path, tmp_path, from_fmt="voc", to_fmt="csv")
    with pytest.raises(ValueError, match="images"):
        convert(tmp_path, tmp_path, from_fmt="voc", to_fmt="coco", images={})
