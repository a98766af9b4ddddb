"""Spark's per-document glue (mapInArrow/mapInPandas adapters, RDDs, broadcast variables, shipped files) lives only
in ``curator/spark/``; stage packages hold per-document logic and configs and call its adapters."""

from __future__ import annotations

import ast
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "curator"
SPARK_PACKAGE = PACKAGE / "spark"

# Files allowed to hold glue while it is being moved; each entry must still need it (checked below).
ALLOWED: set[Path] = set()

GLUE_ATTRIBUTES = {"mapInArrow", "mapInPandas", "rdd", "addFile"}


def spark_glue(source: str) -> list[str]:
    """Each use of Spark's executor-side glue in ``source``, as ``line: what``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if node.attr in GLUE_ATTRIBUTES or node.attr == "SparkFiles":
                found.append((node.lineno, f".{node.attr}"))
            # sparkContext.broadcast is a broadcast variable; functions.broadcast (a join hint) is not glue
            elif node.attr == "broadcast" and isinstance(node.value, ast.Attribute) and \
                    node.value.attr == "sparkContext":
                found.append((node.lineno, "sparkContext.broadcast"))
        elif isinstance(node, ast.Name) and node.id == "SparkFiles":
            found.append((node.lineno, "SparkFiles"))
        elif isinstance(node, ast.ImportFrom) and any(alias.name == "SparkFiles" for alias in node.names):
            found.append((node.lineno, "import SparkFiles"))
    return [f"{line}: {what}" for line, what in sorted(found)]


def test_spark_glue_only_in_the_spark_package():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if SPARK_PACKAGE in path.parents or path in ALLOWED:
            continue
        found = spark_glue(path.read_text())
        if found:
            offenders[str(path.relative_to(REPO))] = found
    assert not offenders, f"Spark glue outside curator/spark/ (use curator.spark.adapters): {offenders}"


def test_allow_list_names_files_that_still_need_it():
    for path in ALLOWED:  # an entry whose glue has moved must go
        assert spark_glue(path.read_text()), f"{path.relative_to(REPO)} no longer needs its allow-list entry"


def test_the_check_finds_each_kind_of_glue():
    source = (
        "from pyspark import SparkFiles\n"
        "df.mapInArrow(run, schema)\n"
        "df.mapInPandas(run, schema)\n"
        "n = df.rdd.getNumPartitions()\n"
        "shared = spark.sparkContext.broadcast(index)\n"
        "spark.sparkContext.addFile(path)\n"
        "hinted = F.broadcast(small)\n"
        "tracker = spark.sparkContext.statusTracker()\n"
    )
    assert [line.split(":")[0] for line in spark_glue(source)] == ["1", "2", "3", "4", "5", "6"]
