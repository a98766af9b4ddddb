"""``report.html``: one self-contained page (inline CSS, inline static SVG, no script, no external reference).

Every value that comes from the data (document text, ids, reasons, column names) goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
from typing import Any

from curator.report import charts
from curator.report.run import RunFolder, stage_tables


SECTIONS = [
    ("summary", "Summary"), ("warnings", "Warnings"), ("funnel", "Documents and characters per stage"),
    ("rejections", "Rejections by reason"), ("languages", "Languages"), ("scores", "Score distributions"),
    ("duplicates", "Duplicate groups"), ("totals", "Entity and column totals"), ("tokenizer", "Tokenizer"),
    ("shards", "Token shards"), ("examples", "Rejected examples"),
]

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c6cbd4}nav{padding:8px 32px;background:#e9ecf1;font-size:13px}
nav a{margin-right:14px;color:#2a4f8f;text-decoration:none}main{padding:8px 32px 40px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:16px 0;padding:12px 20px}
h2{font-size:17px;margin:6px 0 10px}table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e3e6eb;padding:3px 10px;text-align:left}th{background:#f1f3f6}
td.n{text-align:right}.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{background:#f1f4f9;border-radius:6px;padding:8px 14px;min-width:130px}.card b{display:block;font-size:20px}
figure.chart{margin:8px 0}figure.chart svg{max-width:100%;height:auto}.grid{display:flex;flex-wrap:wrap;gap:8px}
.warn{background:#fff4e5;border-left:4px solid #e07b39;padding:6px 10px;margin:6px 0}.muted{color:#6b7380}
details{margin:6px 0;border:1px solid #e3e6eb;border-radius:4px;padding:4px 10px}summary{cursor:pointer}
.doc{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin:8px 0}.doc.single{grid-template-columns:1fr}
pre{white-space:pre-wrap;word-break:break-word;background:#fafbfc;border:1px solid #e3e6eb;padding:6px;margin:4px 0;
max-height:260px;overflow:auto;font-size:12px}.ann{font-size:12px;color:#4a5261}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return esc(value)


def table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<td class="n">{fmt(value)}</td>' if numeric else f"<td>{fmt(value)}</td>"


def figure(name: str, svg: str) -> str:
    return f'<figure class="chart" data-chart="{esc(name)}">{svg}</figure>'


def absent(what: str) -> str:
    return f'<p class="muted">{esc(what)}</p>'


def render_html(run: RunFolder, figures: dict[str, Any], warnings: list[str], generated: str) -> str:
    ledger = run.ledger or {}
    body = {
        "summary": _summary(run, figures),
        "warnings": "".join(f'<div class="warn">{esc(w)}</div>' for w in warnings) or absent("No warnings."),
        "funnel": _funnel(figures),
        "rejections": _rejections(figures),
        "languages": _languages(figures),
        "scores": _scores(figures),
        "duplicates": _duplicates(figures),
        "totals": _totals(figures, run),
        "tokenizer": _tokenizer(figures),
        "shards": _shards(figures),
        "examples": _examples(figures),
    }
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title in SECTIONS)
    sections = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{body[key]}</section>' for key, title in SECTIONS)
    title = f"curator run: {ledger.get('pipeline') or run.root.name}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head>'
            f"<body><header><h1>{esc(title)}</h1><p>{esc(run.root)} · generated {esc(generated)}</p></header>"
            f"<nav>{nav}</nav><main>{sections}</main></body></html>\n")


def _summary(run: RunFolder, figures: dict[str, Any]) -> str:
    ledger = run.ledger or {}
    stages = [s for s in figures.get("stages", []) if not s.get("sink")]
    first, last = (stages[0], stages[-1]) if stages else ({}, {})
    shards = figures.get("shards") or {}
    cards = [("input documents", ledger.get("input")), ("kept documents", ledger.get("kept")),
             ("rejected documents", ledger.get("rejected_total")), ("input characters", first.get("chars_in")),
             ("kept characters", last.get("chars_kept")), ("tokens", shards.get("tokens")),
             ("ledger balanced", ledger.get("balanced"))]
    html_cards = "".join(f'<div class="card">{esc(label)}<b>{fmt(value)}</b></div>' for label, value in cards)
    seconds = sum(s.stats.get("seconds") or 0 for s in run.stages)
    return (f'<div class="cards">{html_cards}</div><p class="muted">{len(run.stages)} completed stages: '
            f"{esc(' → '.join(s.name for s in run.stages))}; {seconds:,.0f} s of stage time.</p>")


def _funnel(figures: dict[str, Any]) -> str:
    stages = figures.get("stages", [])
    documents = [s for s in stages if not s.get("sink")]
    if not documents:
        return absent("No document stage has completed.")
    rows = [[s["stage"], s["docs_in"], s["docs_kept"], s["docs_rejected"], s["chars_in"], s["chars_kept"],
             s["chars_rejected"], s["chars_edited"], s["seconds"]] for s in documents]
    rows += [[s["stage"] + " (sink)", None, None, None, None, None, None, None, s["seconds"]]
             for s in stages if s.get("sink")]
    note = ('<p class="muted">Characters "edited" were removed from kept documents by a stage that rewrites text '
            "(C4 line filters, PII placeholders), not by rejecting documents.</p>")
    return figure("funnel", charts.funnel_chart(stages)) + table(
        ["stage", "docs in", "kept", "rejected", "chars in", "chars kept", "chars rejected", "chars edited",
         "seconds"], rows) + note


def _rejections(figures: dict[str, Any]) -> str:
    stages = [s for s in figures.get("stages", []) if s.get("rejected")]
    if not stages:
        return absent("No document was rejected.")
    rows = [[s["stage"], reason, count] for s in stages for reason, count in sorted(s["rejected"].items())]
    return figure("reasons", charts.reasons_chart(stages)) + table(["stage", "reason", "documents"], rows)


def _languages(figures: dict[str, Any]) -> str:
    languages = figures.get("languages", {})
    rows = languages.get("rows", [])
    if not rows:
        return absent("No language column in this run.")
    tokens = languages.get("tokens")
    header = ["lang", "docs kept", "chars kept", "tokens kept", "docs removed", "chars removed", "tokens removed"]
    body = [[r["lang"], r["kept_docs"], r["kept_chars"], r["kept_tokens"] if tokens else None, r["removed_docs"],
             r["removed_chars"], r["removed_tokens"] if tokens else None] for r in rows]
    note = ("Tokens are counted with the run's tokenizer." if tokens else "No tokenizer in this run: no token counts.")
    note += " Removed = rejected by any stage, counted with the text as it was when rejected; "
    note += "(none) = rejected before language identification."
    return figure("languages", charts.languages_chart(rows)) + table(header, body) + absent(note)


def _scores(figures: dict[str, Any]) -> str:
    histograms = figures.get("histograms", [])
    if not histograms:
        return absent("No score columns in this run.")
    charts_html = "".join(figure(f"hist-{h['column']}", charts.histogram_chart(h, f"chart-hist-{i}"))
                          for i, h in enumerate(histograms))
    return (f'<p class="muted">Every floating-point column a stage added, where it was added: documents it kept '
            f"(blue) and rejected (orange).</p><div class=\"grid\">{charts_html}</div>")


def _duplicates(figures: dict[str, Any]) -> str:
    groups = figures.get("group_sizes", {})
    if not groups:
        return absent("No duplicate groups in this run.")
    out = []
    for index, (stage, sizes) in enumerate(groups.items()):
        if not sizes:
            out.append(absent(f"{stage}: no duplicate groups."))
            continue
        out.append(figure(f"group-sizes-{stage}", charts.bar_chart(
            [f"{size} docs" for size in sizes], list(sizes.values()),
            f"{stage}: groups by size (survivor + duplicates)", f"chart-groups-{index}", xlabel="groups")))
    return "".join(out)


def _totals(figures: dict[str, Any], run: RunFolder) -> str:
    totals = figures.get("totals", {})
    out = [f"<h3>{esc(title)}</h3>" + table(header, rows) for title, header, rows in stage_tables(run)]
    if not totals:
        return "".join(out) + absent("No stage reported totals.")
    for index, (stage, values) in enumerate(totals.items()):
        chart = charts.bar_chart(list(values), list(values.values()), f"{stage}: totals over its output",
                                 f"chart-totals-{index}")
        out.append(figure(f"totals-{stage}", chart))
    return "".join(out)


def _tokenizer(figures: dict[str, Any]) -> str:
    tok = figures.get("tokenizer")
    if not tok:
        return absent("No tokenizer was trained in this run.")
    facts = [["recipe", tok.get("recipe")], ["algorithm", tok.get("algorithm")], ["vocabulary", tok.get("vocab_size")],
             ["training documents", tok.get("sampled_documents")], ["training characters", tok.get("sampled_chars")],
             ["training seconds", tok.get("train_seconds")], ["hash", (tok.get("hash") or "")[:16]]]
    out = table(["", ""], facts)
    rows = [r for r in tok.get("bytes_per_token", []) if r.get("bytes_per_token")]
    if rows:
        out += figure("bytes-per-token", charts.bar_chart(
            [r["lang"] for r in rows], [r["bytes_per_token"] for r in rows],
            "UTF-8 bytes per token (higher = better compression)", "chart-bpt", value_format="{:.2f}"))
        out += absent(f"Measured on {tok.get('measured_on')}.")
        out += table(["lang", "docs", "bytes", "tokens", "bytes/token"],
                     [[r["lang"], r["docs"], r["bytes"], r["tokens"], r["bytes_per_token"]] for r in rows])
    return out


def _shards(figures: dict[str, Any]) -> str:
    shards = figures.get("shards")
    if not shards:
        return absent("No token shards were written in this run.")
    per_doc = shards["tokens"] / shards["documents"] if shards.get("documents") else None
    facts = table(["", ""], [["documents", shards["documents"]], ["tokens", shards["tokens"]],
                             ["tokens per document", per_doc], ["dtype", shards["dtype"]],
                             ["vocabulary", shards["vocab_size"]], ["shards", len(shards["shards"])],
                             ["rejected", ", ".join(f"{k}={v}" for k, v in shards["rejected"].items()) or "none"]])
    chart = figure("shards", charts.bar_chart([s["prefix"] for s in shards["shards"]],
                                              [s["tokens"] for s in shards["shards"]], "tokens per shard",
                                              "chart-shards", color="#3b7dd8"))
    return facts + chart


def _doc(example: dict[str, Any], label: str) -> str:
    annotations = example.get("annotations") or {}
    ann = " · ".join(f"{esc(k)}={esc(v)}" for k, v in annotations.items())
    more = f" (first {len(example['text']):,} of {example['chars']:,} characters)" if example.get("truncated") else ""
    return (f"<div><b>{esc(label)}</b> <code>{esc(example['id'])}</code>{esc(more)}"
            f'<div class="ann">{ann}</div><pre>{esc(example["text"])}</pre></div>')


def _examples(figures: dict[str, Any]) -> str:
    groups = figures.get("examples", [])
    if not groups:
        return absent("No document was rejected.")
    out = ['<p class="muted">A few documents per reason, chosen by a seeded hash of their id; text truncated. '
           "For duplicates, the kept survivor is shown beside. More with <code>curator show RUN_DIR STAGE --rejected "
           "--reason R</code>.</p>"]
    for group in groups:
        docs = []
        for example in group["examples"]:
            counterpart = example.get("kept_counterpart")
            if counterpart:
                docs.append(f'<div class="doc">{_doc(example, "rejected")}{_doc(counterpart, "kept")}</div>')
            else:
                docs.append(f'<div class="doc single">{_doc(example, "rejected")}</div>')
        noun = "document" if group["count"] == 1 else "documents"
        heading = f"<b>{esc(group['stage'])} / {esc(group['reason'])}</b> · {fmt(group['count'])} {noun}"
        out.append(f'<details class="reason" data-reason="{esc(group["reason"])}"><summary>{heading}</summary>'
                   f"{''.join(docs)}</details>")
    return "".join(out)
