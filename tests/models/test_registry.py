"""The model registry: registration, lookup, listing and its errors."""

from __future__ import annotations

import pytest
from torch import nn

from pixlearn.models import create_model, list_models, model_entry, register_model


@register_model(name="_test_tiny", task="segment")
def _tiny(num_classes: int = 2) -> nn.Module:
    """A one-layer stand-in."""
    return nn.Conv2d(1, num_classes, 1)


def test_create_passes_keywords_and_entry_records_task_and_summary():
    assert create_model("_test_tiny", num_classes=5).out_channels == 5
    entry = model_entry("_test_tiny")
    assert (entry.task, entry.summary) == ("segment", "A one-layer stand-in.")


def test_private_names_are_not_listed_and_filters_apply():
    assert "_test_tiny" not in list_models()
    assert list_models("_test*") == []
    classifiers = list_models(task="classify")
    assert classifiers == sorted(classifiers)
    assert "lenet5" in classifiers
    assert all(model_entry(n).task == "classify" for n in classifiers)
    assert list_models("lenet*") == ["lenet5"]


def test_registering_another_builder_under_a_taken_name_is_refused():
    def other() -> nn.Module:
        return nn.Identity()

    with pytest.raises(ValueError, match="_test_tiny"):
        register_model(other, name="_test_tiny")
    # Re-registering the same builder (a module imported twice) is harmless.
    register_model(_tiny, name="_test_tiny", task="segment")


def test_unknown_names_suggest_close_matches():
    with pytest.raises(ValueError, match=r"did you mean.*lenet5"):
        create_model("lenet")
    with pytest.raises(TypeError, match="name"):
        create_model(5)  # type: ignore[arg-type]


def test_unknown_task_is_refused():
    with pytest.raises(ValueError, match="task"):
        list_models(task="track")
