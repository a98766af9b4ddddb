"""curator.io.filesystem without Spark: file:// URIs are local paths, unsupported schemes fail in one line naming
what is missing, and a Location reads, writes, lists and commits on local disk."""

from __future__ import annotations

import os

import pytest

from curator.errors import SpecError
from curator.io.filesystem import Location, UnsupportedSchemeError, check_scheme, local_path, split_scheme
from curator.io.readers import expand_paths
from curator.io.run_files import RunLock, RunLockedError, committed_folder
from curator.specs import PipelineSpec


def test_file_uris_and_plain_paths_name_the_same_local_folder(tmp_path):
    plain = str(tmp_path / "out")
    for uri in (f"file://{plain}", f"file:{plain}", f"file://localhost{plain}"):
        assert local_path(uri) == plain
        assert Location(uri) == Location(plain)
        assert Location(uri).is_local and Location(uri).spark_path == plain
    assert split_scheme(plain) == (None, plain)
    with pytest.raises(UnsupportedSchemeError, match="names no host"):
        local_path("file://otherhost/data")


def test_unknown_scheme_is_one_line_naming_it():
    with pytest.raises(UnsupportedSchemeError) as error:
        check_scheme("ftp://host/corpus", "input")
    assert "ftp://" in str(error.value) and "\n" not in str(error.value)


def test_hdfs_without_a_hadoop_client_names_what_is_missing():
    pytest.importorskip("pyarrow.fs")
    if os.environ.get("HADOOP_HOME"):
        pytest.skip("a Hadoop client is installed here")
    with pytest.raises(UnsupportedSchemeError) as error:
        check_scheme("hdfs://namenode:8020/runs/x", "output")
    message = str(error.value)
    assert "hdfs://" in message and "HADOOP_HOME" in message and "\n" not in message


def test_spec_with_unopenable_output_fails_at_validation_without_creating_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = {"name": "t", "input": {"paths": ["builtin:sample"]}, "stages": [{"stage": "ingest"}]}
    with pytest.raises(Exception, match="output.*ftp://"):
        PipelineSpec.model_validate({**raw, "output": "ftp://host/runs/t"})
    with pytest.raises(Exception, match=r"input.*gopher://"):
        PipelineSpec.model_validate({**raw, "input": {"paths": ["gopher://host/a.jsonl"]}})
    spec = PipelineSpec.model_validate(raw)
    with pytest.raises(SpecError, match="^--output ftp://host/runs/t: curator cannot open ftp://"):
        spec.output_root("ftp://host/runs/t")
    assert os.listdir(tmp_path) == []  # no folder named "ftp:" (or anything else)


def test_sink_stages_refuse_a_remote_root_in_one_line():
    spec = PipelineSpec.model_validate({
        "name": "t", "input": {"paths": ["builtin:sample"]},
        "stages": [{"stage": "ingest"}, {"stage": "train_tokenizer", "recipe": "bpe_demo"}]})
    with pytest.raises(SpecError, match="train_tokenizer .* need a local or mounted output root"):
        spec.output_root("s3://bucket/runs/t")


def test_location_reads_writes_lists_and_removes(tmp_path):
    root = Location(f"file://{tmp_path}/root")
    (root / "a" / "stats.json").write_text('{"n": 1}')
    (root / "a" / "_hidden" / "x.jsonl").write_text("{}\n")
    (root / "b.jsonl").write_text("{}\n")
    assert (root / "a" / "stats.json").read_text() == '{"n": 1}'
    assert [c.name for c in root.children()] == ["a", "b.jsonl"]
    assert [f.name for f in root.walk_files()] == ["stats.json", "b.jsonl"]
    assert not [p for p in os.listdir(tmp_path / "root" / "a") if ".tmp-" in p]  # the temporary was renamed away
    assert (root / "c").create_exclusive("one") and not (root / "c").create_exclusive("two")
    assert (root / "c").read_text() == "one"
    (root / "a").remove_tree()
    assert not (root / "a").exists() and (root / "b.jsonl").is_file()


def test_run_lock_through_a_file_uri(tmp_path):
    first = RunLock(f"file://{tmp_path}")
    first.acquire()
    try:
        with pytest.raises(RunLockedError):
            RunLock(tmp_path).acquire()
    finally:
        first.release()
    assert not (tmp_path / "_RUN_LOCK").exists()


def test_committed_folder_follows_the_marker_attempt(tmp_path):
    stage = Location(tmp_path / "dedup")
    assert committed_folder(stage) is None
    (stage / "_COMPLETE").write_text('{"fingerprint": "f"}')
    assert committed_folder(stage) == stage
    (stage / "_COMPLETE").write_text('{"fingerprint": "f", "attempt": "_attempt-abc"}')
    assert committed_folder(stage) == stage / "_attempt-abc"
    (stage / "_COMPLETE").write_text('{"fingerprint": "f", "attempt": "../elsewhere"}')  # never leaves the stage
    assert committed_folder(stage) == stage


def test_expand_paths_accepts_file_uris(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "x"}\n')
    assert expand_paths([f"file://{tmp_path}/in"]) == expand_paths([str(tmp_path / "in")]) == [
        (str(tmp_path / "in" / "a.jsonl"), "a.jsonl")]


def test_remote_location_operations_on_the_in_process_store():
    pytest.importorskip("fsspec")
    import uuid

    root = Location(f"memory://curator-test-{uuid.uuid4().hex[:8]}/run")
    assert not root.is_local and not root.atomic_rename and root.spark_path.startswith("memory://")
    (root / "ingest" / "_attempt-1" / "stats.json").write_text('{"kept": 1}')  # one PUT, no temporary
    (root / "ingest" / "_COMPLETE").write_text('{"fingerprint": "f", "attempt": "_attempt-1"}')
    assert committed_folder(root / "ingest") == root / "ingest" / "_attempt-1"
    assert [c.name for c in (root / "ingest").children()] == ["_COMPLETE", "_attempt-1"]
    assert (root / "lock").create_exclusive("a") and not (root / "lock").create_exclusive("b")
    (root / "ingest" / "_attempt-1").rename(root / "ingest" / "_attempt-2")
    assert (root / "ingest" / "_attempt-2" / "stats.json").read_text() == '{"kept": 1}'
    root.remove_tree()
    assert not (root / "lock").exists()
