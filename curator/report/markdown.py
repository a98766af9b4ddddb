"""``report.md``: the text version of the run report (tables only; the charts are in ``report.html``)."""

from __future__ import annotations

from typing import Any

from curator.report.run import RunFolder, stage_tables


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    # Right-align the columns that hold only numbers.
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) for i in range(len(header))]
    align = ["---:" if numeric[i] and i else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(run: RunFolder, figures: dict[str, Any] | None, warnings: list[str]) -> str:
    ledger = run.ledger or {}
    out = [f"# curator run: {ledger.get('pipeline') or run.root.name}", "",
           f"Run folder: `{run.root}`", "",
           f"Input documents: {_cell(ledger.get('input'))}  ",
           f"Kept after the last completed document stage: {_cell(ledger.get('kept'))}  ",
           f"Ledger balanced (input = kept + rejected): {ledger.get('balanced')}", ""]
    if warnings:
        out += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]

    out += ["## Stages", ""]
    funnel = {row["stage"]: row for row in (figures or {}).get("stages", [])}
    rows = []
    for stage in run.stages:
        s, f = stage.stats, funnel.get(stage.name, {})
        if stage.is_sink:
            rows.append([stage.name, "-", "-", "-", "-", "-", "sink", s.get("seconds")])
            continue
        reasons = ", ".join(f"{k}={v:,}" for k, v in s.get("rejected", {}).items()) or "-"
        rows.append([stage.name, s.get("in"), s.get("kept"), s.get("rejected_total"), f.get("chars_kept"),
                     f.get("chars_rejected"), reasons, s.get("seconds")])
    out += _table(["stage", "docs in", "kept", "rejected", "chars kept", "chars rejected", "rejected by reason",
                   "seconds"], rows)
    for title, header, rows in stage_tables(run):
        out += [f"## {title}", ""] + _table(header, rows)
    if figures is None:
        out += ["Run `curator report RUN_DIR` (or finish the run) for characters, languages, score distributions, "
                "tokenizer and shard figures and examples in `report.html`.", ""]
        return "\n".join(out)

    languages = figures.get("languages", {})
    if languages.get("rows"):
        out += ["## Languages", ""]
        out += _table(["lang", "docs kept", "chars kept", "tokens kept", "docs removed", "chars removed",
                       "tokens removed"],
                      [[r["lang"], r["kept_docs"], r["kept_chars"], r["kept_tokens"] if languages["tokens"] else None,
                        r["removed_docs"], r["removed_chars"], r["removed_tokens"] if languages["tokens"] else None]
                       for r in languages["rows"]])
    if figures.get("histograms"):
        out += ["## Score columns", ""]
        out += _table(["column", "stage", "range", "kept docs", "rejected docs"],
                      [[h["column"], h["stage"], f"{h['edges'][0]:.3g} .. {h['edges'][-1]:.3g}", sum(h["kept"]),
                        sum(h["rejected"])] for h in figures["histograms"]])
    for stage, sizes in figures.get("group_sizes", {}).items():
        out += [f"## Duplicate groups ({stage})", ""]
        out += _table(["group size", "groups"], [[size, count] for size, count in sizes.items()])
    tokenizer = figures.get("tokenizer")
    if tokenizer:
        out += ["## Tokenizer", ""]
        out += [f"{tokenizer.get('algorithm')} `{tokenizer.get('recipe')}`, "
                f"vocabulary {_cell(tokenizer.get('vocab_size'))}, "
                f"trained on {_cell(tokenizer.get('sampled_documents'))} documents / "
                f"{_cell(tokenizer.get('sampled_chars'))} characters. Bytes per token measured on "
                f"{tokenizer.get('measured_on', '-')}:", ""]
        out += _table(["lang", "docs", "bytes", "tokens", "bytes/token"],
                      [[r["lang"], r["docs"], r["bytes"], r["tokens"], r["bytes_per_token"]]
                       for r in tokenizer.get("bytes_per_token", [])])
    shards = figures.get("shards")
    if shards:
        out += ["## Token shards", "", f"{_cell(shards['documents'])} documents, {_cell(shards['tokens'])} tokens, "
                f"dtype {shards['dtype']}, {len(shards['shards'])} shard(s).", ""]
        out += _table(["shard", "documents", "tokens"], [[s["prefix"], s["documents"], s["tokens"]]
                                                         for s in shards["shards"]])
    if figures.get("examples"):
        out += ["## Rejected examples", "", "Full examples (text, annotations, duplicate survivors) are in "
                "`report.html`; one per reason here.", ""]
        for group in figures["examples"]:
            first = group["examples"][0]
            preview = first["text"][:160].replace("\n", " ").replace("`", "'")
            out.append(f"- **{group['stage']} / {group['reason']}** ({_cell(group['count'])}): `{first['id']}` "
                       f"{preview}{'...' if len(first['text']) > 160 or first['truncated'] else ''}")
        out.append("")
    return "\n".join(out)
