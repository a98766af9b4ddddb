"""Warnings for run choices that look wrong for the data they met. Pure functions over stats and report figures.

The thresholds are rules of thumb, stated in each message so a reader can judge them:

- a tokenizer needs text to learn its pieces from: fewer than ``MIN_CHARS_PER_PIECE`` training characters per
  vocabulary entry leaves most merges fitted to a handful of occurrences (32k pieces on 1.7 MB is 53 per piece);
- a stage that removes most of its input, or one reason that removes a large share, usually means a threshold or a
  language list that does not fit the corpus;
- a tokenizer that encodes a language at close to one byte per token has barely learnt it (byte fallback).
"""

from __future__ import annotations

from typing import Any

from curator.report.run import RunFolder


MIN_CHARS_PER_PIECE = 200
MAX_STAGE_REJECTED_SHARE = 0.5
MAX_REASON_SHARE = 0.3
MIN_BYTES_PER_TOKEN = 1.5
MIN_DOCS_FOR_SHARES = 20  # below this a share says little


def tokenizer_size_warning(vocab_size: int, training_chars: int) -> str | None:
    """A warning when ``training_chars`` of text is too little for a vocabulary of ``vocab_size`` pieces."""
    if not vocab_size or training_chars is None:
        return None
    per_piece = training_chars / vocab_size
    if per_piece >= MIN_CHARS_PER_PIECE:
        return None
    suggested = max(256, int(training_chars / MIN_CHARS_PER_PIECE) // 256 * 256)
    return (f"tokenizer: a {vocab_size:,}-piece vocabulary trained on {_size(training_chars)} of text "
            f"({per_piece:,.0f} characters per piece, rule of thumb >= {MIN_CHARS_PER_PIECE}); most pieces are fitted "
            f"to a few occurrences. Train on more text or use a vocabulary of about {suggested:,} pieces.")


def stage_warnings(name: str, stats: dict[str, Any]) -> list[str]:
    """Warnings for one document stage's stats: most of the input removed, or one reason removing a large share."""
    docs_in = stats.get("in") or 0
    if docs_in < MIN_DOCS_FOR_SHARES or stats.get("sink"):
        return []
    out = []
    rejected = stats.get("rejected_total", 0)
    if rejected / docs_in > MAX_STAGE_REJECTED_SHARE:
        out.append(f"{name}: rejected {rejected:,} of {docs_in:,} documents ({rejected / docs_in:.0%}, more than "
                   f"{MAX_STAGE_REJECTED_SHARE:.0%}); check its thresholds and language list against this corpus.")
    for reason, count in stats.get("rejected", {}).items():
        if count / docs_in > MAX_REASON_SHARE:
            out.append(f"{name}: reason {reason} alone rejected {count:,} of {docs_in:,} documents "
                       f"({count / docs_in:.0%}, more than {MAX_REASON_SHARE:.0%}); look at examples with "
                       f"`curator show RUN_DIR {name} --rejected --reason {reason}`.")
    return out


def bytes_per_token_warnings(rows: list[dict[str, Any]], min_docs: int = 5) -> list[str]:
    return [f"tokenizer: {r['lang']} encodes at {r['bytes_per_token']:.2f} bytes per token (below "
            f"{MIN_BYTES_PER_TOKEN}) on {r['docs']} documents; the tokenizer has barely learnt it (too little of it "
            f"in the training sample?)."
            for r in rows if r.get("bytes_per_token") and r["docs"] >= min_docs
            and r["bytes_per_token"] < MIN_BYTES_PER_TOKEN]


def run_warnings(run: RunFolder, figures: dict[str, Any] | None) -> list[str]:
    """Every warning for a run folder (``figures`` adds the ones that need Spark-computed figures)."""
    out: list[str] = []
    if run.ledger and run.ledger.get("input") is not None and not run.ledger.get("balanced", True):
        out.append("ledger: input != kept + rejected; documents went missing (see ledger.json).")
    for stage in run.document_stages:
        out.extend(stage_warnings(stage.name, stage.stats))
    for stage in run.sink_stages:
        if "vocab_size" in stage.stats and "sampled_chars" in stage.stats:
            warning = tokenizer_size_warning(stage.stats["vocab_size"], stage.stats["sampled_chars"])
            if warning:
                out.append(f"{stage.name}: {warning}")
    tokenizer = (figures or {}).get("tokenizer") or {}
    out.extend(bytes_per_token_warnings(tokenizer.get("bytes_per_token", [])))
    return out


def _size(chars: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if chars >= scale:
            return f"{chars / scale:.1f} {unit} characters"
    return f"{chars} characters"
