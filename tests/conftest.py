"""Shared fixtures: one local[2] Spark session for the whole test run (start-up costs ~6 s)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def spark():
    from curator.spark.session import get_session
    from curator.specs import SparkSpec

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = get_session(SparkSpec(master="local[2]", app_name="curator-tests",
                                    conf={"spark.sql.shuffle.partitions": 4, "spark.driver.memory": "2g"}))
    yield session
    session.stop()


@pytest.fixture
def shared_data():
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA
