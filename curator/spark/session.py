"""The one place a SparkSession is built.

Embedded default: an in-process ``local[*]`` session bound to 127.0.0.1 with quiet logs. Under ``spark-submit`` the
master and resources come from the submit command; ``--master`` or the spec only apply when we start Spark ourselves.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from curator.specs import SparkSpec


LOG4J_CONFIG = Path(__file__).resolve().parent / "log4j2.properties"


def running_under_spark_submit() -> bool:
    # spark-submit starts the Python driver with a gateway already listening.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_session(spec: SparkSpec | None = None, master: str | None = None):
    from pyspark.sql import SparkSession

    spec = spec or SparkSpec()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Executors must run this interpreter (the virtual environment), not whatever `python3` is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    builder = SparkSession.builder.appName(spec.app_name)
    if master or not running_under_spark_submit():
        builder = builder.master(master or spec.master)
    defaults = {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "true",
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",
        "spark.driver.memory": "4g",
        "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile=file:{LOG4J_CONFIG}",
        "spark.executor.extraJavaOptions": f"-Dlog4j.configurationFile=file:{LOG4J_CONFIG}",
    }
    for key, value in {**defaults, **{k: str(v) for k, v in spec.conf.items()}}.items():
        builder = builder.config(key, value if not isinstance(value, bool) else str(value).lower())
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
