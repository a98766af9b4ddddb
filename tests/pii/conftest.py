"""Shared presidio engines for the pii tests: building one costs seconds (imports), so each is built once."""

from __future__ import annotations

import pytest

from curator.pii.engine import DEFAULT_ENTITIES


@pytest.fixture(scope="session")
def scrubber():
    from curator.pii.scrub import PiiScrubber

    return PiiScrubber(DEFAULT_ENTITIES)


@pytest.fixture(scope="session")
def full_scrubber():
    """The same configuration analysing whole documents (no pre-screen): the reference for the pre-screen."""
    from curator.pii.scrub import PiiScrubber

    return PiiScrubber(DEFAULT_ENTITIES, prescreen=False)
