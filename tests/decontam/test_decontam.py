"""decontaminate: normalisation, the n-gram index, remove and mask modes, benchmark files, and a pipeline run."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.decontam.benchmarks import BenchmarkSpec, read_benchmark
from curator.decontam.ngrams import BenchmarkItem, NgramIndex, hash_words, normalize_words, words_with_spans
from curator.decontam.stage import DecontaminateConfig, DecontaminateStage, build_index
from curator.errors import CuratorError
from curator.stage import run_batch_stage


QUESTION = ("A farmer plants seven rows of beans with twelve plants in each row and then buys "
            "three more rows of the same size. How many bean plants does the farmer have now?")
ANSWER = "Seven rows plus three rows make ten rows, and ten rows of twelve plants make 120 plants."
CLEAN = ("The river rose slowly through the night, and by morning the low fields near the mill were under water. "
         "Neighbours brought sandbags and the miller moved his grain to the upper floor before noon.")


def write_benchmark(tmp_path, records, name="bench.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def bench_file(tmp_path):
    return write_benchmark(tmp_path, [{"qid": "q1", "question": QUESTION, "answer": ANSWER},
                                      {"qid": "q2", "question": "Too short to index.", "answer": "Four."}])


def make_stage(bench_file, **options) -> DecontaminateStage:
    config = DecontaminateConfig(benchmarks=[BenchmarkSpec(name="farm", path=str(bench_file),
                                                           fields=["question", "answer"], id_field="qid")], **options)
    return DecontaminateStage(config)


def test_normalisation_lowercases_strips_punctuation_and_keeps_spans():
    assert normalize_words("Don't STOP -- it's «fine», really!") == ["dont", "stop", "its", "fine", "really"]
    text = "Hello, World -- again."
    words, spans = words_with_spans(text)
    assert words == ["hello", "world", "again"]
    assert [text[a:b] for a, b in spans] == ["Hello,", "World", "again."]
    # stable across processes: pandas' keyed hash, not Python's salted str hash
    assert hash_words(["the"]).tolist() == [hash_words(["the"]).tolist()[0]] and hash_words([]).size == 0


def test_index_finds_ngrams_and_whole_short_items():
    long_item = BenchmarkItem("b", "long", (QUESTION,))
    short_item = BenchmarkItem("b", "short", ("nine words that form one complete tiny benchmark item",))
    tiny_item = BenchmarkItem("b", "tiny", ("four words only here",))
    index = NgramIndex.build([long_item, short_item, tiny_item], n=13, min_item_tokens=8)
    assert index.lengths == (9, 13) and index.counts["b"] == {"items": 3, "items_indexed": 2, "items_too_short": 1}
    words = normalize_words("prefix words " + QUESTION[40:160] + " suffix")
    assert {index.labels[i] for _, _, i in index.find(hash_words(words))} == {"b:long"}
    short_hit = normalize_words("Once: nine words that form one complete tiny benchmark item, twice.")
    assert [index.labels[i] for _, _, i in index.find(hash_words(short_hit))] == ["b:short"]
    # twelve consecutive words of the question are not a 13-gram
    twelve = " ".join(normalize_words(QUESTION)[:12])
    assert index.find(hash_words(normalize_words(twelve))) == []


def test_remove_mode_rejects_verbatim_edited_and_embedded_copies(bench_file):
    stage = make_stage(bench_file)
    docs = [
        {"id": "verbatim", "text": QUESTION},
        {"id": "edited", "text": QUESTION.upper().replace(",", "").replace("?", " ?!")},
        {"id": "embedded", "text": CLEAN * 20 + " Worked answer: " + ANSWER + " " + CLEAN * 20},
        {"id": "clean", "text": CLEAN},
        {"id": "short-item-text", "text": "Too short to index. Four."},
        {"id": "empty", "text": ""},
    ]
    kept, rejected = run_batch_stage(stage, docs)
    assert sorted(r["id"] for r in kept) == ["clean", "empty", "short-item-text"]
    assert {r["id"]: r["reason"] for r in rejected} == dict.fromkeys(["verbatim", "edited", "embedded"],
                                                                     "decontaminated")
    assert all(r["reason_detail"] == "farm:q1" and r["decontam_hits"] == ["farm:q1"] for r in rejected)
    assert all(r["decontam_hits"] is None for r in kept)


def test_mask_mode_cuts_the_overlap_and_keeps_the_rest(bench_file):
    stage = make_stage(bench_file, mode="mask", mask_with="[removed]")
    kept, rejected = run_batch_stage(stage, [{"id": "mixed", "text": CLEAN + " " + QUESTION + " " + CLEAN},
                                             {"id": "all", "text": QUESTION}])
    assert [r["id"] for r in kept] == ["mixed"]
    assert kept[0]["text"] == CLEAN + " [removed] " + CLEAN and kept[0]["decontam_hits"] == ["farm:q1"]
    # nothing but benchmark text: nothing is left to keep
    assert [(r["id"], r["reason"]) for r in rejected] == [("all", "decontaminated")]


def test_benchmark_formats_and_clear_errors(tmp_path):
    records = [{"question": QUESTION, "options": ["A)120", "B)84"]}]
    gz = tmp_path / "b.jsonl.gz"
    gz.write_bytes(gzip.compress((json.dumps(records[0]) + "\n").encode()))
    as_array = tmp_path / "b.json"
    as_array.write_text(json.dumps(records))
    parquet = tmp_path / "b.parquet"
    pq.write_table(pa.Table.from_pylist([{"question": QUESTION, "options": ["A)120", "B)84"]}]), parquet)
    for path in (gz, as_array, parquet):
        items = read_benchmark(BenchmarkSpec(name="x", path=str(path), fields=["question", "options"]))
        assert items == [BenchmarkItem("x", "0", (QUESTION, "A)120 B)84"))]
    with pytest.raises(CuratorError, match="none of the fields"):
        read_benchmark(BenchmarkSpec(name="x", path=str(gz), fields=["prompt"]))
    with pytest.raises(CuratorError, match="file not found"):
        read_benchmark(BenchmarkSpec(name="x", path=str(tmp_path / "nope.jsonl"), fields=["q"]))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"q": "fine"}\n{"q": \n')
    with pytest.raises(CuratorError, match="line 2 is not JSON"):
        read_benchmark(BenchmarkSpec(name="x", path=str(broken), fields=["q"]))


def test_config_errors_name_the_field(tmp_path):
    from pydantic import ValidationError

    spec = {"name": "a", "path": "x.jsonl", "fields": ["q"]}
    with pytest.raises(ValidationError, match="benchmark names must be unique"):
        DecontaminateConfig(benchmarks=[spec, spec])
    with pytest.raises(ValidationError, match="benchmarks"):
        DecontaminateConfig(benchmarks=[])
    with pytest.raises(ValidationError, match="mode"):
        DecontaminateConfig(benchmarks=[spec], mode="delete")
    with pytest.raises(ValidationError, match="fiels"):
        DecontaminateConfig(benchmarks=[{**spec, "fiels": ["q"]}])


def test_optional_benchmark_is_skipped_and_bundled_one_loads(tmp_path):
    config = DecontaminateConfig(benchmarks=[
        {"name": "demo", "path": "builtin:demo_reading", "fields": ["passage", "question", "answer"], "id_field": "id"},
        {"name": "absent", "path": str(tmp_path / "absent.jsonl"), "fields": ["q"], "optional": True},
    ])
    index, described = build_index(config)
    assert described["absent"]["skipped"].startswith("file not found")
    assert described["demo"]["items_indexed"] == 3 and len(index) > 0


@pytest.mark.spark
def test_pipeline_run_writes_contamination_table(spark, tmp_path, bench_file):
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    corpus = tmp_path / "in.jsonl"
    docs = [{"id": "leak", "text": CLEAN + " " + QUESTION}, {"id": "leak-answer", "text": ANSWER + " " + CLEAN},
            {"id": "clean-1", "text": CLEAN}, {"id": "clean-2", "text": CLEAN.upper()}]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs))
    spec = PipelineSpec.model_validate({
        "name": "t", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "out"),
        "stages": [{"stage": "ingest"}, {"stage": "decontaminate", "benchmarks": [
            {"name": "farm", "path": str(bench_file), "fields": ["question", "answer"], "id_field": "qid"},
            {"name": "unseen", "path": "builtin:demo_reading", "fields": ["passage"]}]}],
    })
    runner = PipelineRunner(spec, spark=spark)
    runner.run_all()
    stats = json.loads((runner.stage_dir("decontaminate") / "stats.json").read_text())
    assert stats["in"] == 4 and stats["kept"] == 2 and stats["rejected"] == {"decontaminated": 2}
    assert stats["contamination"] == {"farm": {"items_found": 1, "documents_removed": 2, "documents_masked": 0},
                                      "unseen": {"items_found": 0, "documents_removed": 0, "documents_masked": 0}}
    assert stats["extra"]["benchmarks"]["farm"]["items_indexed"] == 1
    rejected = spark.read.parquet(str(runner.stage_dir("decontaminate") / "rejected")).collect()
    assert sorted((r["id"], r["reason_detail"]) for r in rejected) == [("leak", "farm:q1"), ("leak-answer", "farm:q1")]
    assert "| farm | 1 | 2 | 0 |" in (runner.root / "report.md").read_text()


def test_real_benchmarks_index_and_match(shared_data):
    root = shared_data / "decontamination-benchmarks"
    config = DecontaminateConfig(benchmarks=[
        {"name": "gsm8k", "path": str(root / "gsm8k/test.jsonl"), "fields": ["question", "answer"]},
        {"name": "humaneval", "path": str(root / "humaneval/HumanEval.jsonl.gz"),
         "fields": ["prompt", "canonical_solution"], "id_field": "task_id"},
        {"name": "aqua_rat", "path": str(root / "aqua-rat/test.json"), "fields": ["question", "rationale"]},
    ])
    stage = DecontaminateStage(config)
    gsm = [json.loads(line) for line in (root / "gsm8k/test.jsonl").read_text().splitlines()[:3]]
    docs = [{"id": f"g{i}", "text": CLEAN + " " + r["question"]} for i, r in enumerate(gsm)]
    docs.append({"id": "clean", "text": CLEAN * 5})
    kept, rejected = run_batch_stage(stage, docs)
    assert [r["id"] for r in kept] == ["clean"]
    assert [r["reason_detail"] for r in rejected] == ["gsm8k:0", "gsm8k:1", "gsm8k:2"]


def test_one_pass_window_hashes_equal_per_length_hashes():
    import numpy as np

    from curator.decontam.ngrams import all_window_hashes, window_hashes

    rng = np.random.default_rng(0)
    for size in (0, 7, 8, 9, 13, 14, 200):
        words = rng.integers(0, 2**63, size=size, dtype=np.uint64)
        got = dict(all_window_hashes(words, (8, 9, 13)))
        for length in (8, 9, 13):
            expected = window_hashes(words, length)
            assert np.array_equal(got.get(length, np.zeros(0, dtype=np.uint64)), expected), (size, length)


OTHER = ("Snow fell on the pass for nine days in a row, and the train to the valley ran only twice that winter, "
         "carrying coal, letters and a doctor who stayed until spring.")


def test_an_edited_benchmark_file_reruns_the_stage(tmp_path, bench_file):
    # The fingerprint covers the benchmark files' contents: output decided against the old file is not reused.
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    corpus = tmp_path / "in.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": t}) + "\n"
                              for i, t in [("leak", CLEAN + " " + QUESTION), ("clean", CLEAN), ("other", OTHER)]))
    raw = {"name": "t", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "out"),
           "stages": [{"stage": "ingest"}, {"stage": "decontaminate", "benchmarks": [
               {"name": "farm", "path": str(bench_file), "fields": ["question", "answer"], "id_field": "qid"}]}]}
    first = PipelineRunner(PipelineSpec.model_validate(raw))
    first.run_all()
    assert first.read_stats("decontaminate")["rejected"] == {"decontaminated": 1}
    assert PipelineRunner(PipelineSpec.model_validate(raw)).is_complete("decontaminate")  # unchanged: reused

    write_benchmark(tmp_path, [{"qid": "q9", "question": CLEAN, "answer": ANSWER}])  # same path, new contents
    second = PipelineRunner(PipelineSpec.model_validate(raw))
    assert second.is_complete("ingest") and not second.is_complete("decontaminate")
    second.run_all()
    assert second.read_stats("decontaminate")["rejected"] == {"decontaminated": 2}  # both contain CLEAN now


def test_an_unreadable_benchmark_file_still_makes_a_config(bench_file, monkeypatch):
    # The config only fingerprints the file; reading it (and naming the error) is the index build's job.
    import curator.decontam.stage as decontam_stage

    readable = make_stage(bench_file).config.benchmarks_sha256

    def refuse(path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(decontam_stage, "file_sha256", refuse)
    assert make_stage(bench_file).config.benchmarks_sha256 != readable
