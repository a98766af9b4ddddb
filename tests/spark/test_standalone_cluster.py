"""The demo pipeline on a real Spark standalone cluster (a master and two workers as separate processes, started
from the installed pyspark) gives the same ledger, kept documents and token shards as local mode.

Both runs go through ``spark-submit pipelines/curate.py`` as users run them. Token shards are compared document by
document (the same ids, copies and token ids), not shard by shard: shard membership follows Spark's partitioning. Slow (two full demo runs): run with
``pytest -m slow tests/spark/test_standalone_cluster.py``; CI runs it after the default suite.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curator.spark.standalone import StandaloneCluster


REPO = Path(__file__).resolve().parents[2]
DOCUMENT_STAGES = ("ingest", "langid", "quality", "dedup", "pii")

pytestmark = pytest.mark.slow


def submit(cluster: StandaloneCluster, master: str | None, output: str, log: Path) -> None:
    command = cluster.submit_command(str(REPO / "pipelines" / "curate.py"), str(REPO / "pipelines" / "demo.yaml"),
                                     "--output", output, master=master)
    with open(log, "wb") as handle:
        finished = subprocess.run(command, cwd=REPO, env=cluster.env(), stdout=handle, stderr=subprocess.STDOUT,
                                  timeout=1800)
    assert finished.returncode == 0, log.read_text()[-4000:]


def stage_ids(root: Path, stage: str) -> dict[str, list[str] | None]:
    """A stage's kept ids (None for a member of a fused segment, which writes no documents of its own) and rejected
    ids; with the segment's last kept ids these fix every stage's kept documents."""
    def ids(folder: Path) -> list[str] | None:
        if not folder.is_dir():
            return None
        return sorted(pq.read_table(folder, columns=["id"]).column("id").to_pylist())

    return {"kept": ids(root / stage / "data"), "rejected": ids(root / stage / "rejected")}


def ledger_counts(root: Path) -> dict:
    ledger = json.loads((root / "ledger.json").read_text())
    return {key: ledger[key] for key in ("input", "kept", "rejected_total", "balanced", "stages")}


def token_summary(root: Path) -> dict:
    """Totals and every document's token ids (hashed), read through the shards' provenance sidecars. Which shard a
    document lands in follows Spark's partitioning, which legitimately differs between a cluster and local mode."""
    import hashlib

    import numpy as np

    folder = root / "tokenize" / "tokens"
    manifest = json.loads((folder / "manifest.json").read_text())
    documents = {}
    for shard in manifest["shards"]:
        tokens = np.fromfile(folder / f"{shard['prefix']}.bin", dtype=manifest["dtype"])
        sidecar = pq.read_table(folder / f"{shard['prefix']}.provenance.parquet",
                                columns=["id", "copy", "token_offset", "token_length"]).to_pylist()
        for row in sidecar:
            piece = tokens[row["token_offset"]:row["token_offset"] + row["token_length"]]
            documents[(row["id"], row["copy"])] = hashlib.sha256(piece.tobytes()).hexdigest()
    return {"tokenizer": manifest["tokenizer"]["hash"], "documents": manifest["documents"],
            "tokens": manifest["tokens"], "per_document": documents}


def test_demo_on_two_worker_standalone_cluster_matches_local_mode(tmp_path):
    with StandaloneCluster(tmp_path / "cluster", workers=2, cores_per_worker=1, memory_per_worker="1g") as cluster:
        status = cluster.status()
        assert status["status"] == "ALIVE" and len(status["workers"]) == 2
        # The cluster run writes through a file:// URI, the local run to the plain path: the same bytes must result.
        submit(cluster, None, (tmp_path / "on_cluster").as_uri(), tmp_path / "cluster.log")
        apps = cluster.status()["completedapps"]
        assert apps and apps[-1]["name"], "the run did not register as an application on the cluster"
        submit(cluster, "local[2]", str(tmp_path / "local"), tmp_path / "local.log")

    on_cluster, local = tmp_path / "on_cluster", tmp_path / "local"
    assert ledger_counts(on_cluster) == ledger_counts(local)
    assert ledger_counts(on_cluster)["balanced"]
    for stage in DOCUMENT_STAGES:
        assert stage_ids(on_cluster, stage) == stage_ids(local, stage), stage
    assert token_summary(on_cluster) == token_summary(local)
