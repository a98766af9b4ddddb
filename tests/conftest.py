"""Shared fixtures: one local[2] Spark session for the whole test run (start-up costs ~6 s), the embedded sample
corpus as test text, and ``shared_data``.

Core coverage never needs ``../shared/data``: tests that read it are an extra layer over the same features. When it
is absent (a bare clone; or ``CURATOR_SHARED_DATA`` points elsewhere) they are deselected, not skipped, so that a
clean ``make test`` reports 0 skipped.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CURATOR_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def pytest_report_header(config):
    if not SHARED_DATA.exists():
        return f"shared data: {SHARED_DATA} absent; tests that read it are deselected"
    return f"shared data: {SHARED_DATA}"


def pytest_collection_modifyitems(config, items):
    if SHARED_DATA.exists():
        return
    deselected = [item for item in items if "shared_data" in getattr(item, "fixturenames", ())]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@functools.cache
def _sample_documents() -> tuple[tuple[str, str], ...]:
    from curator.io.readers import SAMPLE_PATH, ReadOptions, read_file

    rows = read_file(str(SAMPLE_PATH), SAMPLE_PATH.name, ReadOptions())
    return tuple((r["id"], r["text"]) for r in rows if r["reason"] is None)


def sample_texts(prefix: str = "") -> list[str]:
    """Texts of the embedded sample corpus (public-domain and CC BY text, see NOTICE) whose id starts with
    ``prefix``: ``moby-``, ``shakespeare-``, ``sotu-``, ``leipzig-<lang>-``, ``neko-``, ``gen-pii-``..."""
    return [text for doc_id, text in _sample_documents() if doc_id.startswith(prefix)]


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
