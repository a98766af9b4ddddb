"""curator.spark.session: reads are cut into several tasks per core, and driver-written files can be cut that fine."""

from __future__ import annotations

import random

import pyarrow as pa

from curator.io.filesystem import location
from curator.spark.in_driver import ROW_GROUP_ROWS, write_table
from curator.spark.session import MIN_PARTITIONS_KEY, TASKS_PER_CORE


def test_reads_ask_for_several_tasks_per_core(spark):
    assert spark.conf.get(MIN_PARTITIONS_KEY) == str(TASKS_PER_CORE * spark.sparkContext.defaultParallelism)


def test_a_driver_written_stage_output_reads_as_even_tasks(spark, tmp_path):
    # One file as the driver engine writes it; Spark cuts files at row groups only. The open cost (4 MB by default,
    # the least bytes per task) is lowered so that a test-sized file shows the cut.
    rng = random.Random(0)
    rows = 8 * ROW_GROUP_ROWS
    texts = ["".join(rng.choices("abcdefghij klmnop", k=300)) for _ in range(rows)]
    write_table(pa.table({"id": [str(i) for i in range(rows)], "text": texts}), location(str(tmp_path / "data")))
    previous = spark.conf.get("spark.sql.files.openCostInBytes")
    spark.conf.set("spark.sql.files.openCostInBytes", "1024")
    try:
        frame = spark.read.parquet(str(tmp_path / "data"))
        sizes = frame.rdd.mapPartitions(lambda part: [sum(1 for _ in part)]).collect()
    finally:
        spark.conf.set("spark.sql.files.openCostInBytes", previous)
    assert sum(sizes) == rows
    tasks = [n for n in sizes if n]
    assert len(tasks) >= TASKS_PER_CORE * spark.sparkContext.defaultParallelism
    assert max(tasks) <= 2 * ROW_GROUP_ROWS
