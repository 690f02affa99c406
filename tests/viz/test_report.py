import re

import pytest
from matplotlib.figure import Figure

from pixlearn.viz.report import Report


def test_report_escapes_text_and_counts_checks(tmp_path):
    report = Report("R <1>")
    sec = report.section("A & B", "intro <b>")
    sec.metric("x", 0.123456789, expected="0.12", ok=True)
    sec.metric("y", 3, ok=False, unit="px")
    sec.metric("z", "n/a")
    sec.text("5 < 6")
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    sec.figure(fig, "cap", name="f")
    page = report.write(tmp_path).read_text()
    assert "R &lt;1&gt;" in page and "intro &lt;b&gt;" in page and "5 &lt; 6" in page
    assert "1/2 checks hold" in page
    assert "0.1235" in page and "3 px" in page
    assert re.search(r'<img src="figures/a-b-f.png"', page)
    assert (tmp_path / "figures" / "a-b-f.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob("*.tmp"))


def test_rewriting_a_report_replaces_it(tmp_path):
    Report("first").write(tmp_path)
    Report("second").write(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "second" in page and "first" not in page


def test_data_tables_escape_and_format_cells_and_check_row_lengths(tmp_path):
    report = Report("T")
    sec = report.section("S")
    sec.table(["name", "area"], [["<a>", 1.234567], ["b", 7]], caption="areas & more")
    page = report.write(tmp_path).read_text()
    assert "<caption>areas &amp; more</caption>" in page
    assert "<td>&lt;a&gt;</td><td>1.235</td>" in page and "<td>b</td><td>7</td>" in page
    with pytest.raises(ValueError, match="rows"):
        sec.table(["a", "b"], [[1]], caption="")
