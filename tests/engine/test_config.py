import dataclasses

import pytest

from pixlearn._core.errors import DataFormatError
from pixlearn.engine.config import (
    RunConfig,
    build_config,
    config_to_dict,
    load_yaml,
    parse_devices,
    parse_overrides,
    parse_value,
)
from pixlearn.engine.tasks.classify import ClassifyConfig


def test_defaults_then_file_then_command_line(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("epochs: 5\nlr: 0.1\nmodel: resnet18\n")
    cfg = build_config(ClassifyConfig, {"epochs": "3"}, config=f)
    assert (cfg.epochs, cfg.lr, cfg.model, cfg.batch) == (3, 0.1, "resnet18", RunConfig.batch)


def test_values_get_the_declared_types():
    words = ["compile=true", "imgsz=none", "lr=1e-2", "seed=7", "devices=0,1", "name=x"]
    cfg = build_config(ClassifyConfig, parse_overrides(words))
    assert cfg.compile is True and cfg.imgsz is None and cfg.lr == 0.01 and cfg.seed == 7
    assert cfg.devices == "0,1" and cfg.name == "x"
    assert parse_value([0, 1], str, "devices") == "0,1"  # a YAML list
    assert parse_value("4", int | None, "imgsz") == 4


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown key bogus; valid keys: augment, batch"):
        build_config(ClassifyConfig, {"bogus": "1"})


def test_unknown_key_in_the_config_file_too(tmp_path):
    f = tmp_path / "run.yaml"
    f.write_text("epoch: 5\n")
    with pytest.raises(ValueError, match=r"unknown key epoch.*epochs"):
        build_config(ClassifyConfig, {}, config=f)


@pytest.mark.parametrize(
    ("key", "value", "exc"),
    [
        ("epochs", "0", ValueError),
        ("epochs", "2.5", TypeError),
        ("lr", "abc", TypeError),
        ("lr", "-1", ValueError),
        ("compile", "maybe", ValueError),
        ("precision", "64", ValueError),
        ("optimizer", "lbfgs", ValueError),
        ("scheduler", "poly", ValueError),
        ("devices", "gpu", ValueError),
        ("batch", "0", ValueError),
        ("label_smoothing", "1.0", ValueError),
        ("split", "dev", ValueError),
        ("format", "tflite", ValueError),
    ],
)
def test_bad_values_name_the_key(key, value, exc):
    with pytest.raises(exc, match=key):
        build_config(ClassifyConfig, {key: value})


def test_words_must_be_key_value():
    with pytest.raises(ValueError, match=r"key=value.*'epochs'"):
        parse_overrides(["epochs"])
    assert parse_overrides(["a=1", "a=2", "b=x=y"]) == {"a": "2", "b": "x=y"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cpu", ("cpu", 1)),
        ("cpu:2", ("cpu", 2)),
        ("auto", ("auto", 1)),
        ("0", ("gpu", [0])),
        ("0,1", ("gpu", [0, 1])),
        ("[0, 1]", ("gpu", [0, 1])),
    ],
)
def test_devices(text, expected):
    assert parse_devices(text) == expected


def test_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing.yaml"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [1\n")
    with pytest.raises(DataFormatError, match=r"bad.yaml"):
        load_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(DataFormatError, match=r"list.yaml.*mapping"):
        load_yaml(lst)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_yaml(empty) == {}


def test_round_trip_through_a_dict():
    cfg = build_config(ClassifyConfig, {"epochs": 4, "imgsz": 28})
    again = build_config(ClassifyConfig, config_to_dict(cfg))
    assert again == cfg
    assert set(config_to_dict(cfg)) == {f.name for f in dataclasses.fields(ClassifyConfig)}
