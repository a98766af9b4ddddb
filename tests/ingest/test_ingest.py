"""ingest: one test per rejection reason, stable ids, Unicode normalisation, and one run through the real runner."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from curator.ingest.stage import INGEST_REASONS
from curator.io.readers import ReadOptions, read_file, stable_id


def read_lines(tmp_path, lines: list[bytes], name="in.jsonl", **options):
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines) + b"\n")
    return list(read_file(str(path), name, ReadOptions(**options)))


GOOD = b'{"id": "good", "text": "A perfectly fine document."}'

# Each case: one bad record placed between two good ones, and the one reason it must get.
READER_CASES = {
    "malformed_json": b'{"id": "x", "text": "unterminated',
    "invalid_utf8": b'{"id": "x", "text": "caf\xe9 latin-1"}',
    "missing_text": b'{"id": "x", "body": "text under another key"}',
    "non_string_text": b'{"id": "x", "text": 42}',
    "empty_text": b'{"id": "x", "text": " \\n\\t "}',
    "invalid_unicode": b'{"id": "x", "text": "lone \\ud800 surrogate"}',
}


@pytest.mark.parametrize("reason", sorted(READER_CASES))
def test_each_reader_rejection_reason(tmp_path, reason):
    lines = [GOOD.replace(b"good", b"g1"), READER_CASES[reason], GOOD.replace(b"good", b"g2")]
    rows = read_lines(tmp_path, lines)
    assert [r["reason"] for r in rows] == [None, reason, None]
    assert rows[1]["reason_detail"].startswith(f"{tmp_path / 'in.jsonl'} record 2")
    assert [r["id"] for r in rows if r["reason"] is None] == ["g1", "g2"]


def test_non_object_json_is_malformed(tmp_path):
    rows = read_lines(tmp_path, [b'["a", "list"]', b'"a string"', GOOD])
    assert [r["reason"] for r in rows] == ["malformed_json", "malformed_json", None]
    assert "expected a JSON object" in rows[0]["reason_detail"]


def test_rejected_records_keep_their_raw_line_and_blank_lines_are_not_records(tmp_path):
    rows = read_lines(tmp_path, [b"", b"{not json", b"   ", GOOD])
    assert [r["reason"] for r in rows] == ["malformed_json", None]
    assert rows[0]["text"] == "{not json\n"


def test_truncated_input_reason(tmp_path):
    import zstandard

    lines = [json.dumps({"id": f"d{i}", "text": f"document number {i} " * 20}) for i in range(5000)]
    data = zstandard.ZstdCompressor().compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "cut.jsonl.zst").write_bytes(data[: len(data) // 2])
    rows = list(read_file(str(tmp_path / "cut.jsonl.zst"), "cut.jsonl.zst", ReadOptions()))
    assert [r["reason"] for r in rows].count("truncated_input") == 1
    assert rows[-1]["reason"] == "truncated_input" and {r["reason"] for r in rows[:-1]} == {None}


def test_every_ingest_reason_has_a_test():
    from curator.io.warc import WARC_REASONS  # each has its test in tests/io/test_warc.py

    assert set(INGEST_REASONS) == (set(READER_CASES) | {"truncated_input", "corrupt_file", "duplicate_id"}
                                   | set(WARC_REASONS))


# -- ids ---------------------------------------------------------------------------------------------------------


def test_ids_are_kept_when_present_and_generated_when_absent(tmp_path):
    rows = read_lines(tmp_path, [
        b'{"id": "given", "text": "a"}', b'{"id": 12, "text": "b"}', b'{"text": "c"}', b'{"id": "", "text": "d"}',
        b'{"id": null, "text": "e"}',
    ])
    assert rows[0]["id"] == "given" and rows[1]["id"] == "12"
    assert [r["id"] for r in rows[2:]] == [stable_id("in.jsonl", n) for n in (3, 4, 5)]
    assert len({r["id"] for r in rows}) == 5


def test_ids_are_stable_across_reruns_and_independent_of_location(tmp_path):
    lines = [b'{"text": "first"}', b'{"text": "second"}', b"broken", b'{"text": "third"}']
    first_run = read_lines(tmp_path, lines)
    second_run = read_lines(tmp_path, lines)
    assert [r["id"] for r in first_run] == [r["id"] for r in second_run]
    (tmp_path / "elsewhere").mkdir()
    moved = read_lines(tmp_path / "elsewhere", lines)
    assert [r["id"] for r in moved] == [r["id"] for r in first_run]
    # Renaming the file changes generated ids: the relative name is part of a record's identity.
    renamed = read_lines(tmp_path, lines, name="other.jsonl")
    assert not {r["id"] for r in renamed} & {r["id"] for r in first_run}


def test_custom_field_names(tmp_path):
    rows = read_lines(tmp_path, [b'{"doc_id": "k", "content": "hello", "link": "http://x", "id": "ignored"}'],
                      text_field="content", id_field="doc_id", url_field="link", source="crawl-1")
    assert rows[0]["id"] == "k" and rows[0]["text"] == "hello" and rows[0]["url"] == "http://x"
    assert rows[0]["source"] == "crawl-1"
    assert json.loads(rows[0]["meta"]) == {"id": "ignored"}


# -- normalisation -----------------------------------------------------------------------------------------------


DECOMPOSED = "Cafe\u0301 \ufb01ne \u2460 line\r\nbreak\x00."


@pytest.mark.parametrize(("form", "expected"), [
    ("NFC", "Caf\u00e9 \ufb01ne \u2460 line\nbreak."),  # composes e + combining acute; keeps compatibility chars
    ("NFKC", "Caf\u00e9 fine 1 line\nbreak."),  # also folds the fi ligature and the circled one
    (None, "Cafe\u0301 \ufb01ne \u2460 line\nbreak."),  # no Unicode form, but CRLF and NUL are still cleaned
])
def test_unicode_normalisation(tmp_path, form, expected):
    line = json.dumps({"id": "u", "text": DECOMPOSED}).encode()
    assert read_lines(tmp_path, [line], normalization=form)[0]["text"] == expected


# -- through the real runner -------------------------------------------------------------------------------------


@pytest.mark.spark
def test_ingest_and_langid_through_the_runner(spark, tmp_path):
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    corpus = tmp_path / "corpus"
    (corpus / "more").mkdir(parents=True)
    (corpus / "a.jsonl").write_bytes(b"\n".join([
        b'{"id": "en1", "text": "The committee will publish its annual report on the state of the economy."}',
        b'{"id": "de1", "text": "Die Regierung hat heute einen neuen Haushaltsplan vorgestellt."}',
        b'{"id": "en1", "text": "A second record that reuses the id of the first one."}',
        b'{"id": "e1", "text": ""}',
        b'{"id": "e1", "text": "This one is fine: the record that used its id first was rejected."}',
        READER_CASES["malformed_json"], READER_CASES["invalid_utf8"], READER_CASES["missing_text"],
        READER_CASES["non_string_text"],
        b'{"text": "Cafe\xcc\x81 without an id gets a stable generated one, in plain English words."}',
    ]) + b"\n")
    import zstandard

    # Hex digests keep the file from compressing into a single zstd block, so a cut leaves whole blocks readable.
    many = "".join(json.dumps({"text": f"Record number {i} is an English sentence with the checksum "
                                       f"{hashlib.sha256(str(i).encode()).hexdigest()} in it."}) + "\n"
                   for i in range(3000))
    whole = zstandard.ZstdCompressor().compress(many.encode())
    (corpus / "more" / "cut.jsonl.zst").write_bytes(whole[: len(whole) * 2 // 3])
    spec = PipelineSpec.model_validate({
        "name": "ingest-test", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "run"),
        "stages": [{"stage": "ingest"}, {"stage": "langid", "languages": ["en"], "min_score": 0.3}],
    })

    runner = PipelineRunner(spec, spark=spark)
    results = runner.run_all()
    ingest_stats, langid_stats = results[0].stats, results[1].stats
    readable_cut = ingest_stats["in"] - 10
    assert 1 < readable_cut < 3000  # readable records + the truncated_input row
    assert ingest_stats["rejected"] == {
        "duplicate_id": 1, "empty_text": 1, "invalid_utf8": 1, "malformed_json": 1, "missing_text": 1,
        "non_string_text": 1, "truncated_input": 1,
    }
    assert ingest_stats["kept"] == 4 + readable_cut - 1
    assert langid_stats["in"] == ingest_stats["kept"]
    assert langid_stats["rejected"] == {"lid_wrong_language": 1}
    ledger = json.loads((tmp_path / "run" / "ledger.json").read_text())
    assert ledger["balanced"] and ledger["input"] == ingest_stats["in"]

    kept = {r["id"]: r.asDict() for r in spark.read.parquet(str(tmp_path / "run" / "ingest" / "data")).collect()}
    assert kept["en1"]["text"].startswith("The committee")  # first occurrence wins
    assert kept["e1"]["text"].startswith("This one is fine")  # a rejected record does not claim an id
    generated = stable_id("a.jsonl", 10)
    assert kept[generated]["text"].startswith("Caf\u00e9 ")  # NFC-normalised
    assert kept[generated]["source"] == "a.jsonl"
    assert {r["source"] for r in kept.values()} == {"a.jsonl", "more/cut.jsonl.zst"}

    rejected = spark.read.parquet(str(tmp_path / "run" / "ingest" / "rejected")).collect()
    assert {r["stage"] for r in rejected} == {"ingest"}
    truncated = [r for r in rejected if r["reason"] == "truncated_input"]
    assert "cut.jsonl.zst" in truncated[0]["reason_detail"]
    (repeat,) = [r for r in rejected if r["reason"] == "duplicate_id"]  # names the file and record of the repeat
    assert re.fullmatch(r".*/a\.jsonl record \d+: id en1 seen earlier in the input", repeat["reason_detail"])

    # Generated ids derive from the path below the input folder, the same on every rerun.
    assert stable_id("more/cut.jsonl.zst", 1) in kept
    # A rerun with the same spec skips the finished stages.
    assert all(r.skipped for r in PipelineRunner(spec, spark=spark).run_all())


@pytest.mark.parametrize("literal_paths_max", [2000, 0], ids=["literal_array", "broadcast_table"])
def test_duplicate_id_detail_names_the_file_either_way(spark, tmp_path, monkeypatch, literal_paths_max):
    # Up to _LITERAL_PATHS_MAX input files the path of a repeat is looked up in a literal array, beyond it in a
    # broadcast table: both give the same detail.
    import curator.ingest.stage as ingest
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    monkeypatch.setattr(ingest, "_LITERAL_PATHS_MAX", literal_paths_max)
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"id": "x", "text": "The first record with this id."}) + "\n")
    (corpus / "b.jsonl").write_text(json.dumps({"id": "y", "text": "Another record."}) + "\n"
                                    + json.dumps({"id": "x", "text": "The same id again, in another file."}) + "\n")
    spec = PipelineSpec.model_validate({"name": "dup", "input": {"paths": [str(corpus)]},
                                        "output": str(tmp_path / "run"), "stages": [{"stage": "ingest"}]})
    result = PipelineRunner(spec, spark=spark).run_stage("ingest")
    assert result.stats["rejected"] == {"duplicate_id": 1}
    (repeat,) = spark.read.parquet(str(tmp_path / "run" / "ingest" / "rejected")).collect()
    assert repeat["reason_detail"] == f"{corpus / 'b.jsonl'} record 2: id x seen earlier in the input"
