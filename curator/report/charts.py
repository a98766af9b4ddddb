"""Static SVG charts for ``report.html``, drawn with matplotlib.

Why matplotlib: it renders on the driver with no browser, no JavaScript and no network, and its SVG backend gives
plain vector markup that is inlined in the page, so the report opens offline anywhere (mail attachment, object
store, air-gapped cluster) and stays small. Plotly/Bokeh/Altair would need a ~1-3 MB JavaScript bundle inlined
into every report to stay offline. Text stays text (``svg.fonttype: none``), so the page is searchable.
"""

from __future__ import annotations

import io
import re
from typing import Any, Sequence


KEPT, REJECTED, ACCENT = "#3b7dd8", "#e07b39", "#6a9e3f"
_STYLE = {
    "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
    "axes.titlesize": 10, "axes.titleweight": "bold", "legend.frameon": False, "svg.hashsalt": "curator",
}


def _figure(width: float, height: float, ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update(_STYLE)
    return plt.subplots(1, ncols, figsize=(width, height), sharey=ncols > 1)


def to_svg(fig, chart_id: str) -> str:
    """The figure as inline SVG markup; element ids get ``chart_id`` as prefix so charts on one page never clash."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: not allowed inside HTML
    svg = re.sub(r'id="([^"]+)"', rf'id="{chart_id}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{chart_id}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{chart_id}-\1"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{chart_id}" ', 1)


def _short(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def funnel_chart(stages: list[dict[str, Any]]) -> str:
    """Documents and characters kept and rejected per document stage (horizontal stacked bars)."""
    rows = [s for s in stages if not s.get("sink")][::-1]
    fig, axes = _figure(9, 0.45 * len(rows) + 1.2, ncols=2)
    for index, (what, title) in enumerate((("docs", "documents"), ("chars", "characters"))):
        ax = axes[index]
        names = [r["stage"] for r in rows]
        kept = [r[f"{what}_kept"] for r in rows]
        rejected = [r[f"{what}_rejected"] for r in rows]
        ax.barh(names, kept, color=KEPT, label="kept")
        ax.barh(names, rejected, left=kept, color=REJECTED, label="rejected")
        for y, (k, r) in enumerate(zip(kept, rejected)):
            ax.text(k + r, y, f" {_short(k)} | -{_short(r)}", va="center", fontsize=8)
        ax.set_title(f"{title}: kept | rejected per stage")
        ax.xaxis.set_major_formatter(lambda v, _: _short(v))
        ax.margins(x=0.25)
    fig.axes[0].legend(loc="lower left", bbox_to_anchor=(0, -0.35), ncol=2)
    return to_svg(fig, "chart-funnel")


def reasons_chart(stages: list[dict[str, Any]]) -> str:
    """Rejected documents per (stage, reason), one bar each, grouped by stage."""
    labels, counts = [], []
    for s in stages:
        for reason, count in sorted(s.get("rejected", {}).items(), key=lambda kv: -kv[1]):
            labels.append(f"{s['stage']} · {reason}")
            counts.append(count)
    fig, ax = _figure(9, 0.28 * len(labels) + 0.9)
    ax.barh(labels[::-1], counts[::-1], color=REJECTED)
    for y, c in enumerate(counts[::-1]):
        ax.text(c, y, f" {c:,}", va="center", fontsize=8)
    ax.set_title("rejected documents by stage and reason")
    ax.margins(x=0.12)
    return to_svg(fig, "chart-reasons")


def languages_chart(rows: list[dict[str, Any]], limit: int = 15) -> str:
    """Characters kept and removed per language (the ``limit`` languages with most text)."""
    rows = rows[:limit][::-1]
    fig, ax = _figure(9, 0.32 * len(rows) + 1.0)
    names = [r["lang"] for r in rows]
    kept = [r["kept_chars"] for r in rows]
    removed = [r["removed_chars"] for r in rows]
    ax.barh(names, kept, color=KEPT, label="kept")
    ax.barh(names, removed, left=kept, color=REJECTED, label="removed")
    for y, (k, r, row) in enumerate(zip(kept, removed, rows)):
        ax.text(k + r, y, f" {row['kept_docs']:,} docs kept, {row['removed_docs']:,} removed", va="center",
                fontsize=8)
    ax.xaxis.set_major_formatter(lambda v, _: _short(v))
    ax.set_title("characters kept and removed per language")
    ax.legend(loc="lower right")
    ax.margins(x=0.35)
    return to_svg(fig, "chart-languages")


def histogram_chart(histogram: dict[str, Any], chart_id: str) -> str:
    """Kept and rejected documents per score bin, stacked."""
    edges = histogram["edges"]
    width = edges[1] - edges[0]
    fig, ax = _figure(4.2, 2.4)
    ax.bar(edges[:-1], histogram["kept"], width=width, align="edge", color=KEPT, label="kept", edgecolor="white",
           linewidth=0.4)
    ax.bar(edges[:-1], histogram["rejected"], width=width, align="edge", bottom=histogram["kept"], color=REJECTED,
           label="rejected", edgecolor="white", linewidth=0.4)
    ax.set_title(f"{histogram['column']} ({histogram['stage']})")
    ax.set_ylabel("documents")
    ax.legend(fontsize=7)
    return to_svg(fig, chart_id)


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, chart_id: str, xlabel: str = "",
              color: str = ACCENT, value_format: str = "{:,}") -> str:
    """One horizontal bar per label (group sizes, entity totals, bytes per token, tokens per shard)."""
    fig, ax = _figure(6.5, 0.3 * len(labels) + 0.9)
    ax.barh(list(labels)[::-1], list(values)[::-1], color=color)
    for y, v in enumerate(list(values)[::-1]):
        ax.text(v, y, " " + value_format.format(v), va="center", fontsize=8)
    ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.margins(x=0.15)
    return to_svg(fig, chart_id)
