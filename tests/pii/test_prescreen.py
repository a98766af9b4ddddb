"""The pre-screen's windows and the entities each one runs: a window opened for one entity runs only that entity's
recognizers, so every candidate finder must be a necessary condition for its recognizer (checked here against the
whole-document analysis, which runs every recognizer everywhere)."""

from __future__ import annotations

import re

import pytest

from curator.pii.engine import DEFAULT_ENTITIES, _run_may_be_phone
from curator.pii.prescreen import Prescreen
from curator.pii.recognizers import (
    _STREET_TYPES,
    address_candidates,
    address_spans,
    folded,
    secret_candidates,
    secret_spans,
    word_alternation,
)
from tests.conftest import sample_texts


# Every default entity, several forms each, in running text and in code.
DENSE = [
    "Mail jane.doe@example.co.uk or call +44 20 7946 0958; server 10.0.0.12, peer 2a02:c7f:85a3::8a2e:370:7334.",
    "Card 4111 1111 1111 1111, IBAN de89 3704 0044 0532 0130 00, SSN 536-90-4399, phone (814) 360 8593 x232.",
    "CPF 390.533.447-05, DNI 12345678Z, NIE X-1234567-L, codice fiscale RSSMRA85T10A562S, SIN: 123 456 782.",
    "NIR 2 84 05 2A 123 456 79 and NIR 1 85 05 78 006 084 36; Aadhaar 2345 6789 0124; BSN 1112.22.333.",
    "He lives at 1777 Kramer Court, Johnsonfurt, NE 80119; Flat 3, 12 Elm Grove, Leeds LS1 4AP, UK.",
    'db = "postgres://app:hunter2x@db.internal/app"\nAPI_KEY = "9f8e7d6c5b4a39281706"\nPassWord: s3cr3t-99\n',
    "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\ntoken: ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5\n",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U here",
    "Straße 5, paßwort = 'Gr0ßeGeheim' and password = 'hunter2x9' near the Maße.",  # casefold changes lengths
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA75c3dGJ8nXqVbLf0hX9t7YzK3mWq2p9uV8sR4tO1nM6lK5jH\n"
    "-----END RSA PRIVATE KEY-----\n",
]


def test_a_window_runs_only_the_entities_with_a_candidate_in_it(scrubber):
    assert [w.entities for w in scrubber.windows("Write to jane@example.org today.")] == [{"EMAIL_ADDRESS"}]
    assert [w.entities for w in scrubber.windows("Server 8.8.4.4 is up.")] == [{"IP_ADDRESS"}]  # 4 digits: no phone
    (window,) = scrubber.windows("Her card 4111 1111 1111 1111 expired.")
    assert window.entities == {"PHONE_NUMBER", "US_SSN", "NATIONAL_ID", "CREDIT_CARD"}  # 16 digits: any of them
    (window,) = scrubber.windows("SSN 536-90-4399 on file.")
    assert window.entities == {"PHONE_NUMBER", "US_SSN", "NATIONAL_ID"}  # 9 digits: too short for a card
    # Candidates closer than the margin share one window and its entities.
    (window,) = scrubber.windows("Mail jane@example.org, server 8.8.4.4.")
    assert window.entities == {"EMAIL_ADDRESS", "IP_ADDRESS"}
    far = "Mail jane@example.org. " + "Nothing here at all. " * 20 + "Server 8.8.4.4."
    assert [w.entities for w in scrubber.windows(far)] == [{"EMAIL_ADDRESS"}, {"IP_ADDRESS"}]
    assert scrubber.windows("Nothing personal in 1945, nor in section 12.") == []


def test_every_entity_found_in_a_whole_document_lies_in_a_window_naming_it(scrubber, full_scrubber):
    docs = DENSE + sample_texts("gen-pii-")
    whole = full_scrubber.scrub_batch(docs)
    found = {e for r in whole for e in r.counts}
    assert found == set(DEFAULT_ENTITIES)  # the documents exercise every default entity
    for doc, result in zip(docs, whole):
        windows = scrubber.windows(doc)
        for start, end, entity in result.spans:
            assert any(w.start <= start and end <= w.end and entity in w.entities for w in windows), (
                entity, doc[start:end]
            )
    screened = scrubber.scrub_batch(docs)
    assert [(r.counts, r.text) for r in screened] == [(r.counts, r.text) for r in whole]


def test_candidate_spans_cover_letters_before_digits():
    prescreen = Prescreen(["IBAN_CODE", "NATIONAL_ID"])
    text = "IBAN de89370400440532013000 and RSSMRA85T10A562S"
    spans = {(text[s:e], tuple(sorted(entities))) for s, e, entities in prescreen.candidates(text)}
    assert ("de89", ("IBAN_CODE",)) in spans
    assert ("RSSMRA85T10", ("NATIONAL_ID",)) in spans  # codice fiscale: found from its digits, span from its letters


def test_secret_and_address_candidates_are_necessary_conditions():
    for text in DENSE:
        candidates = list(secret_candidates(text))
        for span in secret_spans(text):
            # The key word of a config line sits before its value, within the window's margin.
            assert any(s < span.end and span.start - 40 < e for s, e in candidates), text[span.start:span.end]
        starts = {s for s, _ in address_candidates(text)}
        for span in address_spans(text):
            assert span.start in starts, text[span.start:span.end]


def test_case_insensitive_key_words_survive_text_whose_casefold_changes_length(scrubber):
    text = "Straße 5, password = 'hunter2x9' near the Maße."
    assert folded(text) is None  # "ß" folds to "ss": offsets would shift, so the regex fallback runs
    assert [text[s:e] for s, e in secret_candidates(text)] == ["passw"]
    assert scrubber.scrub(text).text == "Straße 5, password = '<SECRET>' near the Maße."


def test_street_type_prefix_tree_matches_exactly_the_listed_words():
    words = set()
    for word in _STREET_TYPES.split("|"):
        words |= {word[:-2], word[:-2] + "s"} if word.endswith("s?") else {word}
    tree = re.compile(f"(?:{word_alternation(sorted(words))})")
    flat = re.compile(f"(?:{_STREET_TYPES})")
    probes = sorted(words) + ["avenues", "stree", "streetz", "a", "", "parkwa", "fieldss", "villag", "xing"]
    for probe in probes:
        assert bool(tree.fullmatch(probe)) == bool(flat.fullmatch(probe)), probe


@pytest.mark.parametrize(
    ("text", "may_be_phone"),
    [
        ("the bill of September 6, 1945. (15) Social security", False),  # 6 digits: too short for a national number
        ("pages 12 3456 of the report", False),
        ("ring +44 1234 5 now", True),  # international: fewer digits are allowed
        ("dial 0049 301 2 now", True),
        ("call 555 12 ext. 345 now", True),  # an extension's digits count too
        ("call 030 1234567 now", True),
    ],
)
def test_short_national_digit_runs_skip_the_phone_matcher(text, may_be_phone):
    m = re.search(r"\d(?:[ .()]{0,4}\d)*", text)
    assert _run_may_be_phone(text, m.start(), m.end()) is may_be_phone
