"""The one place a SparkSession is built.

Embedded default: an in-process ``local[*]`` session bound to 127.0.0.1 with quiet logs. Under ``spark-submit`` the
master and resources come from the submit command; ``--master`` or the spec only apply when we start Spark ourselves.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from curator.specs import SparkSpec


LOG4J_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"
_VERBOSE = False
MIN_PARTITIONS_KEY = "spark.sql.files.minPartitionNum"
TASKS_PER_CORE = 4


def set_verbose(verbose: bool) -> None:
    """``curator -v``: Spark logs at INFO (and Spark's own console bar) instead of WARN and curator's bar."""
    global _VERBOSE
    _VERBOSE = verbose


def running_under_spark_submit() -> bool:
    # spark-submit starts the Python driver with a gateway already listening.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _submitted_master() -> str:
    """The master spark-submit was given (its JVM is already up when we run under it)."""
    if not running_under_spark_submit():
        return "local"
    from pyspark import SparkConf

    return SparkConf().get("spark.master", "local")


def get_session(spec: SparkSpec | None = None, master: str | None = None):
    from pyspark.sql import SparkSession

    spec = spec or SparkSpec()
    # Executors must run this interpreter (the virtual environment), not whatever `python3` is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    builder = SparkSession.builder.appName(spec.app_name)
    effective_master = master or (None if running_under_spark_submit() else spec.master)
    if effective_master:
        builder = builder.master(effective_master)
    is_local = (effective_master or _submitted_master()).startswith("local")
    # Loopback only when everything runs here; on a cluster, executors elsewhere must reach the driver.
    loopback = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"} if is_local else {}
    if is_local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    defaults = {
        **loopback,
        "spark.ui.enabled": "false",
        # curator.progress draws its own bar from the status tracker, naming the curator stage.
        "spark.ui.showConsoleProgress": "true" if _VERBOSE else "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",
        "spark.driver.memory": "4g",
        "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile=file:{LOG4J_CONFIG}",
        "spark.executor.extraJavaOptions": f"-Dlog4j.configurationFile=file:{LOG4J_CONFIG}",
    }
    settings = {**defaults, **{k: str(v) for k, v in spec.conf.items()}}
    submitted = None
    if running_under_spark_submit():
        # What the spark-submit command line set wins over the spec and our defaults.
        from pyspark import SparkConf

        submitted = SparkConf()
        settings = {k: v for k, v in settings.items() if not submitted.contains(k)}
    for key, value in settings.items():
        builder = builder.config(key, value if not isinstance(value, bool) else str(value).lower())
    # py4j logs every gateway call; at interpreter exit those records hit already-closed streams
    # ("ValueError: I/O operation on closed file" under pytest).
    logging.getLogger("py4j").setLevel(logging.INFO if _VERBOSE else logging.WARNING)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("INFO" if _VERBOSE else "WARN")
    if MIN_PARTITIONS_KEY not in settings and not (submitted is not None and submitted.contains(MIN_PARTITIONS_KEY)):
        # Spark splits a read into about one partition per core; the per-document stages' cost varies a lot between
        # documents, so one task per core leaves a core idle while the other finishes (on 20,000 documents: 23 s
        # against 36 s of Python work). Several tasks per core let the scheduler even it out.
        session.conf.set(MIN_PARTITIONS_KEY, str(TASKS_PER_CORE * session.sparkContext.defaultParallelism))
    return session
