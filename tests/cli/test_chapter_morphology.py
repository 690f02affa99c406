"""The "Morphology and segmentation" demo chapter: every step runs and every check holds."""

from __future__ import annotations

from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.morphology import MORPHOLOGY
from pixlearn.viz.report import Report


def test_morphology_chapter_steps_hold(tmp_path):
    report = Report("t")
    sec = report.section(MORPHOLOGY.title)
    names = [name for name, _ in MORPHOLOGY.steps]
    assert names.index("watershed: one region per coin") > names.index(
        "top-hat, Otsu, holes, labelling, markers"
    )
    for _, step in MORPHOLOGY.steps:
        step(sec, DemoSettings(quick=True))
    checks = {m.name: m for m in sec.metrics if m.ok is not None}
    assert checks["watershed regions (top-hat, h-maxima markers)"].value == 24
    assert all(m.ok for m in checks.values()), [m for m in checks.values() if not m.ok]
    tables = [b for kind, b in sec.blocks if kind == "table"]
    assert len(tables) == 1 and len(tables[0][1]) == 8  # quick mode shows 8 coins
    page = report.write(tmp_path).read_text()
    assert "solidity" in page and (tmp_path / "figures").is_dir()
