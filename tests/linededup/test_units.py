"""Pure line-dedup logic: splitting, normalisation, hashing, rewriting, and the batch functions, without Spark."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from pydantic import ValidationError

from curator.document import DOCUMENT_SCHEMA
from curator.linededup.stage import (
    CHARS_REMOVED,
    REMOVAL_TYPE,
    REMOVALS,
    TOO_SHORT,
    UNITS_REMOVED,
    LineDedupConfig,
    LineDedupStage,
    index_batch,
    rewrite_batch,
)
from curator.linededup.units import Normalisation, distinct_units, hashed_units, remove_units, unit_hash, unit_spans
from curator.specs import PipelineSpec


PAGE = (
    "Home\n"
    "Sign up for our weekly newsletter today\n"
    "\n"
    "The river rose two metres overnight.\n"
    "Residents of the lower town were moved to the school.\n"
    "\n\n"
    "Second paragraph. It has two sentences? Yes… 你好。世界！\n"
    "  Share this article on Facebook  \n"
)


def pieces(text, kind):
    return [text[a:b] for a, b in unit_spans(text, kind)]


def test_units_by_kind():
    assert pieces(PAGE, "line") == [
        "Home", "Sign up for our weekly newsletter today", "The river rose two metres overnight.",
        "Residents of the lower town were moved to the school.",
        "Second paragraph. It has two sentences? Yes… 你好。世界！", "Share this article on Facebook",
    ]
    assert pieces(PAGE, "paragraph") == [
        "Home\nSign up for our weekly newsletter today",
        "The river rose two metres overnight.\nResidents of the lower town were moved to the school.",
        "Second paragraph. It has two sentences? Yes… 你好。世界！\n  Share this article on Facebook",
    ]
    assert pieces(PAGE, "sentence")[4:] == [
        "Second paragraph.", "It has two sentences?", "Yes…", "你好。", "世界！", "Share this article on Facebook",
    ]
    assert unit_spans("", "line") == [] and unit_spans(" \n\t\n", "paragraph") == []
    assert pieces("a\r\nb\r\n", "line") == ["a", "b"]  # CRLF: the \r is whitespace around the unit


def test_normalisation_options():
    unit = "  Share THIS, article!! on   Facebook © 2019 "
    assert Normalisation().apply(unit) == "share this article on facebook 0000"
    assert Normalisation(lowercase=False).apply(unit) == "Share THIS article on Facebook 0000"
    assert Normalisation(digits=False).apply(unit) == "share this article on facebook 2019"
    assert Normalisation(punctuation=False).apply(unit) == "share this, article!! on facebook © 0000"
    assert Normalisation(whitespace=False).apply("A-b  c") == "a b  c"  # punctuation becomes a space
    assert Normalisation(whitespace=False).apply(unit) == "share this  article   on   facebook   0000"


def test_hash_is_signed_64_bit_and_stable():
    values = {unit_hash(f"line {i}") for i in range(2000)}
    assert len(values) == 2000
    assert all(-(1 << 63) <= v < (1 << 63) for v in values) and min(values) < 0 < max(values)
    assert unit_hash("share this") == unit_hash("share this")  # no per-process salt (unlike hash())


def test_short_units_are_never_hashed():
    norm = Normalisation()
    positions = [p for p, _ in hashed_units(PAGE, "line", norm, min_unit_chars=20)]
    assert positions == [1, 2, 3, 4, 5]  # "Home" (4 chars) is left alone
    assert hashed_units(None, "line", norm, 1) == [] and hashed_units("", "line", norm, 1) == []


def test_distinct_units_give_every_position_once_per_hash():
    text = "Repeated footer line here\nunique body text one\nREPEATED footer line, here!\nunique body text two"
    rows = distinct_units(text, "line", Normalisation(), 10)
    assert [where for _, where in rows] == [[0, 2], [1], [3]]
    assert rows[0][0] == unit_hash("repeated footer line here")


def test_remove_units_keeps_everything_else_byte_for_byte():
    out = remove_units(PAGE, "line", [1, 5])  # the newsletter line and the share line
    assert out.text == (
        "Home\n\nThe river rose two metres overnight.\nResidents of the lower town were moved to the school.\n\n\n"
        "Second paragraph. It has two sentences? Yes… 你好。世界！  \n"
    )
    assert (out.units_removed, out.chars_removed) == (2, len(PAGE) - len(out.text))
    # Nothing to remove: the very same string; positions past the end are ignored.
    assert remove_units(PAGE, "line", []).text is PAGE
    assert remove_units(PAGE, "line", [17]).units_removed == 0


def test_removing_everything_leaves_an_empty_text():
    text = "  Subscribe to the newsletter now\nbody one is here and long\n"
    everything = remove_units(text, "line", [0, 1])
    assert everything.text == "" and everything.chars_removed == len(text)
    assert remove_units(text, "line", [0]).text == "  body one is here and long\n"


def test_paragraph_and_sentence_removal():
    assert remove_units(PAGE, "paragraph", [0]).text.startswith("The river rose")
    text = "The council met today. Cookies help us deliver our services. Prices rose again."
    assert remove_units(text, "sentence", [1]).text == "The council met today. Prices rose again."


def batch_of(rows, plans):
    full = [{f.name: r.get(f.name) for f in DOCUMENT_SCHEMA} for r in rows]
    batch = pa.RecordBatch.from_pylist(full, schema=DOCUMENT_SCHEMA)
    return batch.append_column(pa.field(REMOVALS, REMOVAL_TYPE), pa.array(plans, REMOVAL_TYPE))


def test_index_batch_rows():
    config = LineDedupConfig(min_unit_chars=10)
    batch = pa.RecordBatch.from_pylist([
        {"id": "a", "text": "Footer line of the site\nbody text number one\nfooter line of the site"},
        {"id": "b", "text": None}, {"id": "c", "text": "short"},
    ])
    out = index_batch(batch, config).to_pylist()
    assert [(r["id"], r["_unit_positions"]) for r in out] == [("a", [0, 2]), ("a", [1])]


def test_rewrite_batch_rewrites_annotates_and_rejects_too_short():
    config = LineDedupConfig(min_unit_chars=10, min_doc_chars=30)
    rows = [
        {"id": "long",
         "text": "A long article body that survives the removal.\nCopyright by the example newspaper group"},
        {"id": "short", "text": "Tiny body\nCopyright by the example newspaper group"},
        {"id": "untouched", "text": "Nothing repeated here at all, just prose."},
        {"id": "null", "text": None},
    ]
    out = {r["id"]: r for r in rewrite_batch(batch_of(rows, [[1], [1], None, [0]]), config).to_pylist()}
    assert REMOVALS not in out["long"]
    assert out["long"]["text"] == "A long article body that survives the removal."
    assert (out["long"][UNITS_REMOVED], out["long"][CHARS_REMOVED], out["long"]["reason"]) == (1, 41, None)
    assert out["short"]["reason"] == TOO_SHORT
    assert out["short"]["reason_detail"] == (
        "9 chars left < min_doc_chars 30 after removing 1 repeated lines")
    assert out["short"]["text"] == rows[1]["text"]  # the rejected row keeps the original
    assert out["untouched"]["text"] == rows[2]["text"] and out["untouched"][CHARS_REMOVED] == 0
    assert out["null"]["text"] is None and out["null"]["reason"] is None


def test_config_validation_names_the_field():
    with pytest.raises(ValidationError, match="max_occurrences"):
        LineDedupConfig(max_occurrences=0)
    with pytest.raises(ValidationError, match="unit"):
        LineDedupConfig(unit="word")
    with pytest.raises(ValidationError, match="keep_frist"):
        LineDedupConfig(keep_frist=True)
    with pytest.raises(ValueError, match=r"stages\[1\] \(line_dedup\).min_unit_chars"):
        PipelineSpec.model_validate({"name": "t", "input": {"paths": ["x"]},
                                     "stages": ["ingest", {"stage": "line_dedup", "min_unit_chars": 0}]})


def test_stage_declares_its_reasons_and_columns():
    stage = LineDedupStage()
    assert stage.reasons == (TOO_SHORT,)
    assert [f.name for f in stage.annotation_fields()] == [UNITS_REMOVED, CHARS_REMOVED]
    assert stage.summed_columns() == [UNITS_REMOVED, CHARS_REMOVED]


def test_line_spans_match_split_and_strip():
    rng = random.Random(4)
    alphabet = ["a", "b", " ", "\t", "\n", "\r", "\u00a0", "\u2028", "é", ".", "\x0b"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        expected, offset = [], 0
        for line in text.split("\n"):
            if line.strip():
                lead = len(line) - len(line.lstrip())
                expected.append((offset + lead, offset + lead + len(line.strip())))
            offset += len(line) + 1
        assert unit_spans(text, "line") == expected, repr(text)


def test_long_whitespace_runs_do_not_backtrack():
    # A pattern that may start on whitespace is quadratic on a whitespace-only line: 200k spaces would take hours.
    blank = " " * 200_000
    text = f"{blank}\nA line of text. And a second sentence.\n{blank}\n\n{blank}"
    assert pieces(text, "line") == ["A line of text. And a second sentence."]
    assert pieces(text, "sentence") == ["A line of text.", "And a second sentence."]
    assert pieces(text, "paragraph") == ["A line of text. And a second sentence."]
