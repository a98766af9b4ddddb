"""A large single JSONL file is read by several Spark tasks (input.split_bytes) and every physical record is
counted once: the ingest output and ledger equal a one-task read, rejections included, record numbers too."""

from __future__ import annotations

import json

import pytest

from curator.io.readers import expand_paths, plan_splits
from curator.spark.runner import PipelineRunner
from curator.specs import PipelineSpec


pytestmark = pytest.mark.spark


def write_corpus(path) -> int:
    lines = []
    for i in range(400):
        if i % 97 == 5:
            lines.append(b'{"id": "broken", "text": \r\n')  # malformed_json
        elif i % 50 == 7:
            lines.append(b"\n")  # blank: not a record
        elif i == 350:
            lines.append(json.dumps({"id": "doc-3", "text": "a repeated id far from its first use"}).encode() + b"\n")
        else:
            record = {"text": f"record {i} " + "word " * (i % 40)} if i % 3 else {"id": f"doc-{i}", "text": f"r{i}"}
            lines.append(json.dumps(record).encode() + (b"\r\n" if i % 2 else b"\n"))
    lines[-1] = lines[-1].rstrip(b"\r\n")  # the last record has no newline
    path.write_bytes(b"".join(lines))
    return sum(1 for line in lines if line.strip())


def run_ingest(spark, corpus, output, split_bytes: int) -> tuple[dict, list, list]:
    spec = PipelineSpec.model_validate({
        "name": "split", "input": {"paths": [str(corpus)], "split_bytes": split_bytes}, "output": str(output),
        "stages": [{"stage": "ingest"}]})
    runner = PipelineRunner(spec, spark=spark)
    runner.run_all()
    folder = runner.stage_output("ingest")
    kept = sorted((r["id"], r["text"]) for r in spark.read.parquet(str(folder / "data")).collect())
    rejected = sorted((r["id"], r["reason"], r["reason_detail"])
                      for r in spark.read.parquet(str(folder / "rejected")).collect())
    return json.loads((output / "ledger.json").read_text()), kept, rejected


@pytest.mark.slow  # two ingest runs, ~60 s on 2 cores
def test_large_jsonl_read_by_many_tasks_counts_every_record_once(spark, tmp_path):
    corpus = tmp_path / "big.jsonl"
    records = write_corpus(corpus)
    splits = plan_splits(expand_paths([str(corpus)]), "auto", 997)
    assert len(splits) > 10  # many ranges, most boundaries inside a record

    whole = run_ingest(spark, corpus, tmp_path / "whole", 1 << 30)
    split = run_ingest(spark, corpus, tmp_path / "split", 997)
    assert split[0]["input"] == records and split[0]["balanced"]
    assert split == whole
    reasons = {reason for _, reason, _ in split[2]}
    assert reasons == {"malformed_json", "duplicate_id"}
    duplicate = next(detail for _, reason, detail in split[2] if reason == "duplicate_id")
    assert "record 344:" in duplicate  # line 351 of the file; the 7 blank lines before it are not records
