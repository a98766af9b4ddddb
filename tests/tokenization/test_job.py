"""The Spark jobs: sampling + training, tokenize to shards (rejections, shard size, leftovers), CLI and stages."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from curator.errors import CuratorError
from curator.spark.tokenize_ops import tokenize_to_folder, write_token_shards
from curator.tokenization.job import TokenizeOptions, choose_dtype
from curator.tokenization.manifest import load_manifest, verify_shards
from curator.tokenization.recipe import load_recipe
from curator.tokenization.shards import MegatronShard, ShardFormatError
from curator.tokenization.tokenizer import read_bundle
from curator.tokenization.train import EmptyCorpusError, sample_training_texts, train_tokenizer


pytestmark = pytest.mark.spark


def _frame(spark, texts, partitions=2):
    rows = [(f"doc-{i}", text) for i, text in enumerate(texts)]
    return spark.createDataFrame(rows, "id string, text string").repartition(partitions)


def _decoded_documents(folder, tokenizer):
    manifest = load_manifest(folder)
    decoded = []
    for prefix in manifest.shard_prefixes(folder):
        shard = MegatronShard(prefix)
        for ids in shard:
            assert ids[-1] == manifest.tokenizer.eod_id
            decoded.append(tokenizer.decode(ids[:-1].tolist()))
    return decoded


def test_tokenize_writes_every_document_once_and_records_rejections(spark, bpe_artifact, moby_texts, tmp_path):
    bundle = read_bundle(bpe_artifact)
    texts = moby_texts[60:100] + ["", "a short one"]
    manifest = write_token_shards(_frame(spark, texts), bundle, tmp_path / "tokens",
                                  TokenizeOptions(shuffle_seed=7))
    assert manifest.documents == len(texts) - 1 and manifest.rejected == {"tokenize_empty": 1}
    assert manifest.dtype == "uint16" and manifest.tokenizer.hash == bundle.hash
    assert manifest.tokenizer.eod_id == 2 and manifest.tokenizer.vocab_size == bundle.meta["vocab_size"]
    verify_shards(tmp_path / "tokens")
    assert sorted(_decoded_documents(tmp_path / "tokens", bundle.load())) == sorted(t for t in texts if t)
    rejected = [json.loads(line) for line in (tmp_path / "tokens" / "rejected.jsonl").read_text().splitlines()]
    assert rejected == [{"id": f"doc-{len(texts) - 2}", "reason": "tokenize_empty"}]
    assert read_bundle(tmp_path / "tokens" / "tokenizer").hash == bundle.hash


def test_target_shard_size_and_int32(spark, bpe_artifact, moby_texts, tmp_path):
    bundle = read_bundle(bpe_artifact)
    manifest = write_token_shards(_frame(spark, moby_texts[60:120], partitions=2), bundle, tmp_path,
                                  TokenizeOptions(dtype="int32", target_shard_tokens=20_000, shuffle_seed=None))
    assert manifest.dtype == "int32" and len(manifest.shards) > 4
    by_partition: dict[str, list] = {}
    for entry in manifest.shards:
        by_partition.setdefault(entry.prefix.rsplit("-", 1)[0], []).append(entry)
    for entries in by_partition.values():
        assert all(e.tokens >= 20_000 for e in entries[:-1])  # only a task's last shard may be short
    assert MegatronShard(tmp_path / manifest.shards[0].prefix).dtype == np.int32
    assert manifest.tokens == sum(MegatronShard(p).num_tokens for p in manifest.shard_prefixes(tmp_path))


def test_dtype_and_empty_corpus_errors(spark, bpe_artifact, tmp_path):
    with pytest.raises(ShardFormatError, match="does not fit uint16"):
        choose_dtype(100_000, "uint16")
    bundle = read_bundle(bpe_artifact)
    with pytest.raises(EmptyCorpusError, match="corpus is empty"):
        write_token_shards(_frame(spark, []), bundle, tmp_path / "a")
    with pytest.raises(EmptyCorpusError, match="tokenize_empty"):
        write_token_shards(_frame(spark, ["", ""]), bundle, tmp_path / "b")


def test_rerun_after_killed_task_leaves_no_partial_shard(spark, bpe_artifact, moby_texts, tmp_path):
    output = tmp_path / "tokens"
    # A task killed mid-write (a real SIGKILL) in the staging folder of an earlier run, plus an orphan shard.
    staging = tmp_path / ".tokens.tmp-dead0001"
    script = textwrap.dedent(f"""
        import os, signal
        import numpy as np
        from curator.tokenization.shards import ShardWriter
        writer = ShardWriter({str(staging / 'part-00000-0000')!r}, np.uint16)
        writer.add_document(np.arange(1, 4000))
        writer._bin_file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", script]).returncode == -signal.SIGKILL
    assert any(".tmp-" in p.name for p in staging.iterdir())
    manifest = tokenize_to_folder(_frame(spark, moby_texts[60:70]), read_bundle(bpe_artifact), output,
                                  TokenizeOptions(num_shards=2))
    assert not staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens"]
    files = {p.name for p in output.iterdir()}
    assert not [name for name in files if ".tmp-" in name]
    assert {p for p in files if p.endswith((".bin", ".idx"))} == {
        f"{e.prefix}{suffix}" for e in manifest.shards for suffix in (".bin", ".idx")}
    verify_shards(output)

    # Leftovers inside the tokens folder itself (a killed attempt of this job) are cleaned by the driver too.
    subprocess.run([sys.executable, "-c", script.replace(str(staging), str(output / "work"))])
    (output / "work" / "part-00042-0000.bin").write_bytes(b"\x00\x01")  # an orphan no task reported
    write_token_shards(_frame(spark, moby_texts[60:70]), read_bundle(bpe_artifact), output / "work")
    assert sorted(p.name for p in (output / "work").iterdir() if p.name.startswith((".", "part-00042")))== []
    with pytest.raises(CuratorError, match="not empty"):
        tokenize_to_folder(_frame(spark, ["x"]), read_bundle(bpe_artifact), output)


def test_train_tokenizer_job_balances_languages(spark, moby_texts, tmp_path):
    rows = [(f"en-{i}", t[:3000], "en") for i, t in enumerate(moby_texts[:100])]
    rows += [(f"de-{i}", f"Der Wal schwamm {i} Tage lang durch das Meer.", "de") for i in range(10)]
    df = spark.createDataFrame(rows, "id string, text string, lang string")
    spec = load_recipe("bpe_demo").sample.model_copy(update={"max_documents": 20, "balance_by_lang": True})
    texts, stats = sample_training_texts(df, spec)
    assert stats["sampled_per_lang"]["de"] >= 5 and stats["sampled_per_lang"]["en"] <= 10
    assert len(texts) == sum(stats["sampled_per_lang"].values()) <= 20
    with pytest.raises(CuratorError, match="lang"):
        sample_training_texts(df.drop("lang"), spec)
    with pytest.raises(EmptyCorpusError):
        sample_training_texts(df.where("lang = 'xx'"), spec.model_copy(update={"balance_by_lang": False}))

    recipe = load_recipe("bpe_demo").model_copy(update={"vocab_size": 800})
    stats = train_tokenizer(df, recipe, tmp_path / "tok")
    assert read_bundle(tmp_path / "tok").hash == stats["hash"] and stats["vocab_size"] <= 800


def test_cli_tokenize_and_inspect(spark, bpe_artifact, moby_texts, tmp_path, capsys):
    from curator.cli import main

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(moby_texts[:8]))
                      + "{not json\n")
    main(["tokenize", "--tokenizer", str(bpe_artifact), str(corpus), str(tmp_path / "tokens"),
          "--target-shard-tokens", "5000"])
    manifest = load_manifest(tmp_path / "tokens")
    assert manifest.documents == 8 and manifest.rejected == {"tokenize_missing_text": 1}
    main(["inspect", str(tmp_path / "tokens"), "-n", "2", "--verify"])
    out = capsys.readouterr().out
    assert f"{manifest.tokens} tokens" in out and "sha256 verified" in out and "EOD last: True" in out
    with pytest.raises(SystemExit):
        main(["inspect", str(tmp_path / "nothing")])  # no manifest: a clear error, exit 1


@pytest.mark.slow
def test_pipeline_stages_train_then_tokenize(spark, tmp_path, shared_data):
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    spec = PipelineSpec.model_validate({
        "name": "tok", "input": {"paths": [str(shared_data / "stdlib-moby-dick" / "moby_dick.jsonl")]},
        "output": str(tmp_path / "run"),
        "stages": [{"stage": "ingest"},
                   {"stage": "train_tokenizer", "recipe": "bpe_demo"},
                   {"stage": "tokenize", "target_shard_tokens": 100_000}],
    })
    runner = PipelineRunner(spec, spark=spark)
    for stage in spec.stages:
        runner.run_stage(stage.name)
    stats = json.loads((tmp_path / "run" / "tokenize" / "stats.json").read_text())
    manifest = verify_shards(tmp_path / "run" / "tokenize" / "tokens")
    trained = read_bundle(tmp_path / "run" / "train_tokenizer" / "tokenizer")
    assert manifest.tokenizer.hash == trained.hash == stats["tokenizer_hash"]
    ingested = json.loads((tmp_path / "run" / "ingest" / "stats.json").read_text())["kept"]
    assert manifest.documents + stats["rejected_total"] == ingested
