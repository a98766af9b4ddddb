"""Per-document scrubbing with real presidio engines: each entity type, overlaps, untouched text, other languages,
very long documents, and the pre-screen's promise (same output as analysing whole documents)."""

from __future__ import annotations

import gzip
import json

import pytest

from curator.pii.engine import card_number_valid
from tests.conftest import sample_texts


@pytest.mark.parametrize(
    ("value", "entity"),
    [
        ("jane.doe@example.co.uk", "EMAIL_ADDRESS"),
        ("o'brien+news@mail.example-corp.de", "EMAIL_ADDRESS"),
        ("+1 (212) 555-0134", "PHONE_NUMBER"),
        ("+49 30 12345678", "PHONE_NUMBER"),
        ("020 7946 0958", "PHONE_NUMBER"),  # UK national format
        ("06 12 34 56 78", "PHONE_NUMBER"),  # French national format
        ("192.168.10.27", "IP_ADDRESS"),
        ("2a02:c7f:85a3::8a2e:370:7334", "IP_ADDRESS"),
        ("fe80:0000:0000:0000:0204:61ff:fe9d:f156", "IP_ADDRESS"),
        ("4111 1111 1111 1111", "CREDIT_CARD"),  # Visa, spaced
        ("5555-5555-5555-4444", "CREDIT_CARD"),  # Mastercard, dashed
        ("2221000000000009", "CREDIT_CARD"),  # Mastercard 2-series (missed by presidio's own pattern)
        ("378282246310005", "CREDIT_CARD"),  # American Express
        ("4000000000000000006", "CREDIT_CARD"),  # 19-digit Visa (missed by presidio's own pattern)
        ("DE89 3704 0044 0532 0130 00", "IBAN_CODE"),
        ("GB82WEST12345698765432", "IBAN_CODE"),
        ("536-90-4399", "US_SSN"),
    ],
)
def test_each_entity_type_is_replaced_by_its_placeholder(scrubber, value, entity):
    text = f"Record of the meeting.\nThe value is {value} and nothing else matters.\n"
    result = scrubber.scrub(text)
    assert result.text == f"Record of the meeting.\nThe value is <{entity}> and nothing else matters.\n"
    assert result.counts == {entity: 1}


def test_several_entities_in_one_text_are_all_counted(scrubber):
    text = (
        "Mail ops@example.org or noc@example.net, call +44 20 7946 0958, server 10.0.0.12 and 10.0.0.13, "
        "card 4111-1111-1111-1111."
    )
    result = scrubber.scrub(text)
    assert result.text == (
        "Mail <EMAIL_ADDRESS> or <EMAIL_ADDRESS>, call <PHONE_NUMBER>, server <IP_ADDRESS> and <IP_ADDRESS>, "
        "card <CREDIT_CARD>."
    )
    assert result.counts == {"EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1, "IP_ADDRESS": 2, "CREDIT_CARD": 1}
    assert result.total == 6


def test_overlapping_entities_become_one_placeholder(scrubber):
    # The IPv4 recognizer also matches the tail of an IPv4-mapped IPv6 address; a phone-like digit run sits inside
    # an e-mail address. Each span must be replaced once, by the entity that covers it.
    mapped = scrubber.scrub("peer ::ffff:192.0.2.128 connected")
    assert mapped.text == "peer <IP_ADDRESS> connected" and mapped.counts == {"IP_ADDRESS": 1}
    email = scrubber.scrub("write to anna.2125550134@example.com please")
    assert email.text == "write to <EMAIL_ADDRESS> please" and email.counts == {"EMAIL_ADDRESS": 1}
    ssn = scrubber.scrub("SSN 536-90-4399 on file")
    assert ssn.text.count("<") == 1 and ssn.total == 1 and "4399" not in ssn.text


def test_presidio_analyzer_reports_the_overlap_that_the_anonymizer_resolves(scrubber):
    # The analyzer really reports one stretch twice: a token in a URL's user part is both a secret and the local
    # part of an e-mail-shaped string; the secret is replaced, once.
    url = "clone https://ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5@github.com/org/repo"
    found = scrubber.analyze_batch([url])[0]
    assert sorted(r.entity_type for r in found) == ["EMAIL_ADDRESS", "SECRET"]
    assert scrubber.scrub(url).text == "clone https://<SECRET>@github.com/org/repo"


def test_text_without_pii_is_unchanged_byte_for_byte(scrubber, shared_data):
    samples = [
        "Meeting at 10:30 on 2019-11-04; the 2019-2020 season; version 3.11.2; 1,000,000 people; 4,80 €.",
        "Published 3.10.2000, updated 19.10.2019 and 06/12/2019.",  # dates the phone matcher alone would accept
        "Tabs\tand\r\nwindows line ends, trailing spaces   \n\u00a0nbsp, emoji \U0001F600, zero\u200bwidth.",
        "See https://www.example.org/about?id=42 and www.example.com for details.",  # URLs are kept by default
        "",
    ]
    for lang in ("en", "de", "fr", "ru", "ja", "zh", "ar", "ko"):
        path = shared_data / "lingua-language-testdata" / "language-testdata" / "sentences" / f"{lang}.txt"
        samples.append("\n".join(path.read_text(encoding="utf-8").splitlines()[:40]))
    moby = (shared_data / "stdlib-moby-dick" / "moby_dick.jsonl").read_text(encoding="utf-8").splitlines()
    samples.extend(json.loads(line)["text"] for line in moby[3:8])
    results = scrubber.scrub_batch(samples)
    for text, result in zip(samples, results):
        assert result.counts == {}
        assert result.text.encode("utf-8") == text.encode("utf-8")


def test_only_the_entity_bytes_change(scrubber):
    head, tail = "Grüße,\r\n\tcontact: ", " \u2014 fin \U0001F600\n"
    result = scrubber.scrub(f"{head}max.mustermann@beispiel.de{tail}")
    assert result.text == f"{head}<EMAIL_ADDRESS>{tail}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bei Fragen erreichen Sie uns unter Telefon 030 12345678 oder per E-Mail an info@beispiel.de.",
         "Bei Fragen erreichen Sie uns unter Telefon <PHONE_NUMBER> oder per E-Mail an <EMAIL_ADDRESS>."),
        ("Überweisen Sie den Betrag auf das Konto DE89 3704 0044 0532 0130 00, Verwendungszweck 4711.",
         "Überweisen Sie den Betrag auf das Konto <IBAN_CODE>, Verwendungszweck 4711."),
        ("Appelez le +33 1 42 68 53 00 ou écrivez à contact@exemple.fr avant le 12 mars.",
         "Appelez le <PHONE_NUMBER> ou écrivez à <EMAIL_ADDRESS> avant le 12 mars."),
        ("Пишите на ivan.petrov@example.ru или звоните +7 495 123-45-67.",
         "Пишите на <EMAIL_ADDRESS> или звоните <PHONE_NUMBER>."),
        ("お問い合わせ: taro@example.jp 電話 +81 3-1234-5678 まで。",
         "お問い合わせ: <EMAIL_ADDRESS> 電話 <PHONE_NUMBER> まで。"),
        ("服务器地址 192.168.1.20 已下线。", "服务器地址 <IP_ADDRESS> 已下线。"),
    ],
)
def test_non_english_text(scrubber, text, expected):
    assert scrubber.scrub(text).text == expected


def test_very_long_document(scrubber, shared_data):
    moby = (shared_data / "stdlib-moby-dick" / "moby_dick.jsonl").read_text(encoding="utf-8").splitlines()
    body = "\n".join(json.loads(line)["text"] for line in moby)  # ~1.2M characters, beyond spaCy's 1M default
    assert len(body) > 1_100_000
    third = len(body) // 3
    cut1, cut2 = body.index(" ", third), body.index(" ", 2 * third)
    text = (
        "From captain.ahab@pequod.org: " + body[:cut1] + " call +1 212 555 0134 " + body[cut1:cut2]
        + " card 4111 1111 1111 1111 " + body[cut2:]
    )
    result = scrubber.scrub(text)
    assert result.counts == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1, "CREDIT_CARD": 1}
    assert result.text == (
        "From <EMAIL_ADDRESS>: " + body[:cut1] + " call <PHONE_NUMBER> " + body[cut1:cut2] + " card <CREDIT_CARD> "
        + body[cut2:]
    )


@pytest.mark.slow
def test_very_long_document_without_prescreen(full_scrubber, shared_data):
    moby = (shared_data / "stdlib-moby-dick" / "moby_dick.jsonl").read_text(encoding="utf-8").splitlines()
    body = "\n".join(json.loads(line)["text"] for line in moby)
    result = full_scrubber.scrub(body + " mail: ishmael@example.com")
    assert result.counts == {"EMAIL_ADDRESS": 1} and result.text == body + " mail: <EMAIL_ADDRESS>"


def _real_documents(shared_data, n_web: int, n_mail: int) -> list[str]:
    with gzip.open(shared_data / "trafilatura-eval" / "trafilatura_wetlike.jsonl.gz", "rt", encoding="utf-8") as f:
        web = [json.loads(line)["text"] for _, line in zip(range(n_web), f)]
    with gzip.open(shared_data / "spamassassin" / "spamassassin.jsonl.gz", "rt", encoding="utf-8") as f:
        # Raw mail with headers: many real e-mail addresses, IPs and phone numbers.
        mail = [json.loads(line)["text"] for _, line in zip(range(n_mail), f)]
    return web + mail


def test_prescreen_gives_the_same_output_as_whole_documents(scrubber, full_scrubber, shared_data):
    docs = _real_documents(shared_data, n_web=40, n_mail=40)
    screened, whole = scrubber.scrub_batch(docs), full_scrubber.scrub_batch(docs)
    assert sum(r.total for r in whole) > 100  # the sample really holds personal data
    assert {e for r in whole for e in r.counts} >= {"EMAIL_ADDRESS", "IP_ADDRESS", "PHONE_NUMBER"}
    for i, (a, b) in enumerate(zip(screened, whole)):
        assert a.counts == b.counts, i
        assert a.text == b.text, i
    # And the pre-screen really narrows the analysis: most characters are never shown to presidio.
    analysed = sum(end - start for d in docs for start, end in scrubber.segments(d))
    assert analysed < 0.5 * sum(len(d) for d in docs)


def test_phone_runs_find_what_presidio_phone_recognizer_finds(shared_data):
    """Our phone recognizer (matcher over digit runs) against presidio's (matcher over the whole text)."""
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from curator.pii.engine import DEFAULT_PHONE_REGIONS, _phone_recognizer, phone_in_context
    from curator.pii.prescreen import phone_candidate

    ours = _phone_recognizer("en", DEFAULT_PHONE_REGIONS)
    stock = PhoneRecognizer(supported_regions=DEFAULT_PHONE_REGIONS)
    docs = _real_documents(shared_data, n_web=30, n_mail=30)
    total = 0
    for doc in docs:
        expected = {(r.start, r.end) for r in stock.analyze(doc, ["PHONE_NUMBER"])}
        # Deliberate differences: fewer than 5 digits ("16.45 Uhr", "16-49"), dates ("3.10.2000") and numbers that
        # the context rules reject (amounts, table cells, bare runs in code) are never taken for phone numbers.
        expected = {(s, e) for s, e in expected if phone_candidate(doc[s:e]) and phone_in_context(doc, s, e)}
        assert {(r.start, r.end) for r in ours.analyze(doc, ["PHONE_NUMBER"])} == expected
        total += len(expected)
    assert total >= 5  # the sample holds real phone numbers that both find


def test_card_validation_needs_checksum_and_known_issuer():
    assert card_number_valid("4111111111111111")
    assert card_number_valid("6759649826438453")  # Maestro
    assert card_number_valid("3530111333300000")  # JCB
    assert not card_number_valid("4111111111111112")  # bad checksum
    assert card_number_valid("9111111111111110")  # 16 digits with Luhn: any issuer
    assert not card_number_valid("9111111111111115")  # bad checksum
    assert not card_number_valid("1609459200009")  # 13 digits, Luhn-valid, no issuer: a millisecond timestamp
    assert not card_number_valid("411111111111116")  # Luhn-valid, but 15 digits need an issuer using 15 (not Visa)


def test_null_and_empty_texts_pass_through(scrubber):
    results = scrubber.scrub_batch([None, "", "ok"])
    assert [r.text for r in results] == [None, "", "ok"] and all(r.total == 0 for r in results)


def test_doctests():
    import doctest

    import curator.pii.engine
    import curator.pii.prescreen
    import curator.pii.scrub

    for module in (curator.pii.engine, curator.pii.prescreen, curator.pii.scrub):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_blank_vocabulary_is_rebuilt_when_large(scrubber, monkeypatch):
    import curator.pii.engine as engine_module

    engine = scrubber.analyzer.nlp_engine
    before = engine.nlp["en"]
    monkeypatch.setattr(engine_module, "MAX_BLANK_VOCAB", 0)
    assert scrubber.scrub("mail: a@example.com").text == "mail: <EMAIL_ADDRESS>"
    assert engine.nlp["en"] is not before


# The same properties on the embedded sample corpus, so they hold on a clone with nothing beside it: real prose in
# nine languages (public domain / CC BY, see NOTICE) and generated documents full of fictitious personal data.

def test_text_without_pii_is_unchanged_on_the_sample(scrubber):
    samples = [text for lang in ("de", "fr", "ru", "ja", "zh") for text in sample_texts(f"leipzig-{lang}-")[:3]]
    samples += sample_texts("moby-")[3:8] + sample_texts("shakespeare-")[:2]
    results = scrubber.scrub_batch(samples)
    for text, result in zip(samples, results):
        assert result.counts == {}, result.counts
        assert result.text.encode("utf-8") == text.encode("utf-8")


def test_very_long_document_from_the_sample(scrubber):
    body = "\n".join(sample_texts("moby-") * 2)  # ~1.2M characters, beyond spaCy's 1M default
    assert len(body) > 1_100_000
    cut = body.index(" ", len(body) // 2)
    result = scrubber.scrub("From captain.ahab@pequod.org: " + body[:cut] + " call +1 212 555 0134 " + body[cut:])
    assert result.counts == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 1}
    assert result.text == "From <EMAIL_ADDRESS>: " + body[:cut] + " call <PHONE_NUMBER> " + body[cut:]


def test_prescreen_gives_the_same_output_as_whole_documents_on_the_sample(scrubber, full_scrubber):
    docs = sample_texts("gen-pii-") + sample_texts("leipzig-de-")[:5] + sample_texts("sotu-")[:5]
    screened, whole = scrubber.scrub_batch(docs), full_scrubber.scrub_batch(docs)
    assert sum(r.total for r in whole) > 100
    # The sample's IP addresses sit in the documentation ranges, which keep_ip_networks keeps by default.
    assert {e for r in whole for e in r.counts} >= {"EMAIL_ADDRESS", "PHONE_NUMBER"}
    for i, (a, b) in enumerate(zip(screened, whole)):
        assert (a.counts, a.text) == (b.counts, b.text), i


def test_phone_runs_find_what_presidio_phone_recognizer_finds_on_the_sample():
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    from curator.pii.engine import DEFAULT_PHONE_REGIONS, _phone_recognizer, phone_in_context
    from curator.pii.prescreen import phone_candidate

    ours = _phone_recognizer("en", DEFAULT_PHONE_REGIONS)
    stock = PhoneRecognizer(supported_regions=DEFAULT_PHONE_REGIONS)
    total = 0
    for doc in sample_texts("gen-pii-") + sample_texts("sotu-")[:10]:
        # The same deliberate differences as in the shared-data variant above (candidates and context rules).
        expected = {(r.start, r.end) for r in stock.analyze(doc, ["PHONE_NUMBER"])
                    if phone_candidate(doc[r.start:r.end]) and phone_in_context(doc, r.start, r.end)}
        assert {(r.start, r.end) for r in ours.analyze(doc, ["PHONE_NUMBER"])} == expected
        total += len(expected)
    assert total > 20
