"""A small, self-contained HTML report: sections of text, figures (PNG) and metric tables.

The `pixlearn demo` command fills one section per syllabus chapter; training runs will use the
same builder. The page has no JavaScript and no external assets: figures are PNG files written
next to ``report.html`` in ``figures/``, so the folder can be zipped and opened anywhere.

Example:
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> report = Report("Demo")
    >>> sec = report.section("Images", "How an image forms.")
    >>> sec.metric("OTF(0)", 1.0, expected="1")
    >>> fig = Figure(); _ = fig.add_subplot().plot([0, 1])
    >>> sec.figure(fig, "a line", name="line")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = report.write(d)
    ...     (path.parent / "figures" / "images-line.png").exists()
    True
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

__all__ = ["Metric", "Report", "Section"]


@dataclass
class Metric:
    """One measured number with what it should be and whether it holds."""

    name: str
    value: Any
    expected: str = ""
    ok: bool | None = None
    unit: str = ""

    def formatted(self) -> str:
        v = self.value
        if isinstance(v, float):
            v = f"{v:.4g}"
        return f"{v} {self.unit}".strip()


@dataclass
class Section:
    """One chapter of the report."""

    title: str
    intro: str = ""
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    seconds: float | None = None
    error: str | None = None

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"

    def text(self, paragraph: str) -> None:
        """Add a paragraph (plain text; it is escaped)."""
        self.blocks.append(("text", paragraph))

    def figure(self, fig: Figure, caption: str, *, name: str) -> None:
        """Add a matplotlib figure; it is rendered to ``figures/<section>-<name>.png``."""
        self.blocks.append(("figure", (fig, caption, name)))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str) -> None:
        """Add a data table (cells are shown with ``str``; floats with 4 significant digits)."""
        if any(len(r) != len(header) for r in rows):
            raise ValueError(f"rows: every row needs {len(header)} cells, as the header")
        self.blocks.append(("table", (list(header), [list(r) for r in rows], caption)))

    def metric(
        self, name: str, value: Any, *, expected: str = "", ok: bool | None = None, unit: str = ""
    ) -> None:
        """Add a row to the section's metric table (``ok`` adds a pass/fail mark)."""
        self.metrics.append(Metric(name, value, expected, ok, unit))


class Report:
    """An HTML report made of :class:`Section` s."""

    def __init__(self, title: str, *, subtitle: str = "") -> None:
        self.title, self.subtitle = title, subtitle
        self.sections: list[Section] = []

    def section(self, title: str, intro: str = "") -> Section:
        """Start a new section and return it."""
        sec = Section(title, intro)
        self.sections.append(sec)
        return sec

    def write(self, out_dir: str | Path, *, dpi: int = 100) -> Path:
        """Render figures and write ``out_dir/report.html``; returns the HTML path."""
        out = Path(out_dir)
        (out / "figures").mkdir(parents=True, exist_ok=True)
        body = [self._summary()] + [self._render(sec, out, dpi) for sec in self.sections]
        page = _PAGE.format(
            title=html.escape(self.title),
            subtitle=html.escape(self.subtitle),
            date=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            body="\n".join(body),
        )
        path = out / "report.html"
        tmp = path.with_suffix(".html.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
        return path

    def _summary(self) -> str:
        rows = []
        for sec in self.sections:
            checks = [m.ok for m in sec.metrics if m.ok is not None]
            status = (
                "failed to run"
                if sec.error
                else f"{sum(checks)}/{len(checks)} checks hold"
                if checks
                else "ran"
            )
            secs = "" if sec.seconds is None else f"{sec.seconds:.1f} s"
            rows.append(
                f'<tr><td><a href="#{sec.slug}">{html.escape(sec.title)}</a></td>'
                f"<td>{status}</td><td>{secs}</td></tr>"
            )
        return (
            "<h2>Contents</h2><table><tr><th>chapter</th><th>status</th><th>time</th></tr>"
            + "".join(rows)
            + "</table>"
        )

    def _render(self, sec: Section, out: Path, dpi: int) -> str:
        parts = [f'<section id="{sec.slug}"><h2>{html.escape(sec.title)}</h2>']
        if sec.intro:
            parts.append(f"<p>{html.escape(sec.intro)}</p>")
        if sec.error:
            parts.append(f'<pre class="error">{html.escape(sec.error)}</pre>')
        if sec.metrics:
            parts.append(_metric_table(sec.metrics))
        for kind, payload in sec.blocks:
            if kind == "text":
                parts.append(f"<p>{html.escape(payload)}</p>")
            elif kind == "table":
                parts.append(_data_table(*payload))
            else:
                fig, caption, name = payload
                rel = f"figures/{sec.slug}-{name}.png"
                fig.savefig(out / rel, dpi=dpi, bbox_inches="tight")
                parts.append(
                    f'<figure><img src="{rel}" alt="{html.escape(caption)}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
        parts.append("</section>")
        return "\n".join(parts)


def _cell(value: Any) -> str:
    return html.escape(f"{value:.4g}" if isinstance(value, float) else str(value))


def _data_table(header: list[str], rows: list[list[Any]], caption: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><caption>{html.escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def _metric_table(metrics: list[Metric]) -> str:
    rows = []
    for m in metrics:
        mark = {True: '<td class="ok">holds</td>', False: '<td class="bad">fails</td>'}.get(
            m.ok, "<td></td>"
        )
        rows.append(
            f"<tr><td>{html.escape(m.name)}</td><td>{html.escape(m.formatted())}</td>"
            f"<td>{html.escape(m.expected)}</td>{mark}</tr>"
        )
    return (
        "<table><tr><th>metric</th><th>measured</th><th>expected</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
    )


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: #666; margin-top: .2em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: .3em .7em; text-align: left; }}
th {{ background: #f3f3f3; }} .ok {{ color: #17803d; }}
.bad {{ color: #c0392b; font-weight: bold; }}
figure {{ margin: 1.5em 0; }} img {{ max-width: 100%; }}
figcaption {{ color: #555; font-size: .9em; }} pre.error {{ background: #fdecea; padding: 1em; }}
section {{ border-top: 1px solid #ddd; margin-top: 2em; }}
</style></head><body>
<h1>{title}</h1><p class="sub">{subtitle} &middot; {date}</p>
{body}
</body></html>
"""
