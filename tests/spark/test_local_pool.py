"""The driver engine's worker processes: task pieces, results in submission order, a dead worker."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator.spark.local_pool import LocalPool, PoolError, read_slice, slices


def test_slices_cover_every_row_group_in_order():
    pieces = slices([("a.parquet", [5, 2]), ("b.parquet", [3])], rows=2)
    assert pieces == [("a.parquet", 0, 0, 2), ("a.parquet", 0, 2, 4), ("a.parquet", 0, 4, 5),
                      ("a.parquet", 1, 0, 2), ("b.parquet", 0, 0, 2), ("b.parquet", 0, 2, 3)]
    assert slices([("empty.parquet", [])], rows=2) == []


def test_read_slice_reads_the_rows_of_one_group(tmp_path):
    path = str(tmp_path / "t.parquet")
    pq.write_table(pa.table({"n": list(range(10))}), path, row_group_size=4)
    assert read_slice(path, 1, 1, 3).column("n").to_pylist() == [5, 6]
    assert read_slice(path, 2, 0, 2).column("n").to_pylist() == [8, 9]


def test_results_come_back_in_submission_order_from_other_processes():
    pool = LocalPool(2)
    try:
        pids = pool.map(os.getpid, [()] * 6)
        assert os.getpid() not in pids
        assert pool.map(divmod, [(n, 3) for n in range(8)]) == [divmod(n, 3) for n in range(8)]
        assert pool.map(os.getenv, [("RAYON_NUM_THREADS",)]) == ["1"]  # one native thread per worker
    finally:
        pool.close()


def test_a_dead_worker_fails_with_a_clear_error():
    pool = LocalPool(2)
    try:
        with pytest.raises(PoolError, match="worker process of the driver engine died"):
            pool.map(os._exit, [(3,)])
    finally:
        pool.close()
