"""PII scrubbing: curator's pii stage logic against plain presidio, on a labelled multilingual set and on web text.

Labelled set: real sentences from ../shared/data (lingua test sentences in 7 languages) with Faker values embedded
(e-mail, phone, IPv4/IPv6, card, IBAN in 8 locales; US SSNs in en_US documents), some after a cue word in the
document's language ("Tel.", "E-Mail:"), some bare; about a quarter of the documents hold none. Phone values are
kept only when ``phonenumbers`` says they are valid numbers of the locale's country (Faker draws random digits, and a
number with an unassigned area code is not a real phone number).

Scoring is by span: a gold span is found when a replaced span of the same entity type overlaps it (recall); a
replaced span is correct when it overlaps a gold span of its type (precision). Both systems are scored on
non-overlapping spans (``resolve_overlaps``: higher score, then longer span wins; for presidio across all its entity
types). The host sentences are real web text and hold a little real, unlabelled personal data (e-mail addresses,
phone numbers), which counts against precision for both systems alike.
Throughput is analyze + anonymize (replace with ``<ENTITY>``), single process, engines built and warmed first.

"plain presidio" = ``AnalyzerEngine`` with its default registry (every predefined recognizer, default score
threshold 0) on the same offline blank-spaCy NLP engine (a default ``AnalyzerEngine()`` would try to download
``en_core_web_lg``), and ``AnonymizerEngine`` with default operators.

Run: .venv/bin/python benchmarks/bench_pii.py [--docs 400] [--web-docs 150] [--seed 7]
Needs the bench extra (faker).
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
SENTENCES = SHARED / "lingua-language-testdata" / "language-testdata" / "sentences"
ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN")

# Faker locale -> (host text language, phone region)
LOCALES = {
    "en_US": ("en", "US"), "en_GB": ("en", "GB"), "de_DE": ("de", "DE"), "fr_FR": ("fr", "FR"),
    "es_ES": ("es", "ES"), "it_IT": ("it", "IT"), "nl_NL": ("nl", "NL"), "pt_BR": ("pt", "BR"),
}
CUES = {
    "en": {"EMAIL_ADDRESS": "email:", "PHONE_NUMBER": "phone", "IP_ADDRESS": "IP", "CREDIT_CARD": "card number",
           "IBAN_CODE": "IBAN", "US_SSN": "SSN"},
    "de": {"EMAIL_ADDRESS": "E-Mail:", "PHONE_NUMBER": "Tel.", "IP_ADDRESS": "IP-Adresse",
           "CREDIT_CARD": "Kartennummer", "IBAN_CODE": "IBAN"},
    "fr": {"EMAIL_ADDRESS": "courriel :", "PHONE_NUMBER": "tél.", "IP_ADDRESS": "adresse IP",
           "CREDIT_CARD": "carte", "IBAN_CODE": "IBAN"},
    "es": {"EMAIL_ADDRESS": "correo:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "IP", "CREDIT_CARD": "tarjeta",
           "IBAN_CODE": "IBAN"},
    "it": {"EMAIL_ADDRESS": "email:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "indirizzo IP", "CREDIT_CARD": "carta",
           "IBAN_CODE": "IBAN"},
    "nl": {"EMAIL_ADDRESS": "e-mail:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "IP-adres", "CREDIT_CARD": "kaart",
           "IBAN_CODE": "IBAN"},
    "pt": {"EMAIL_ADDRESS": "e-mail:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "IP", "CREDIT_CARD": "cartão",
           "IBAN_CODE": "IBAN"},
}


# -- labelled set -------------------------------------------------------------------------------------------------

def _phone(fake, region: str, rng: random.Random) -> str | None:
    import phonenumbers

    for _ in range(30):
        value = fake.phone_number()
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return value
        except phonenumbers.NumberParseException:
            continue
    return None


def _card(fake, rng: random.Random) -> str:
    digits = fake.credit_card_number()
    style = rng.random()
    if len(digits) == 16 and style < 0.4:
        sep = " " if style < 0.25 else "-"
        return sep.join(digits[i:i + 4] for i in range(0, 16, 4))
    return digits


def _iban(fake, rng: random.Random) -> str:
    value = fake.iban()
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.5 else value


def _ip(fake, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return fake.ipv4_public() if rng.random() < 0.7 else fake.ipv4_private()
    address = fake.ipv6()
    return str(ipaddress.IPv6Address(address)) if roll < 0.8 else address  # compressed or full form


def make_value(entity: str, fake, region: str, rng: random.Random) -> str | None:
    if entity == "EMAIL_ADDRESS":
        if rng.random() < 0.6:
            return fake.email()
        return fake.free_email() if rng.random() < 0.5 else fake.company_email()
    if entity == "PHONE_NUMBER":
        return _phone(fake, region, rng)
    if entity == "IP_ADDRESS":
        return _ip(fake, rng)
    if entity == "CREDIT_CARD":
        return _card(fake, rng)
    if entity == "IBAN_CODE":
        return _iban(fake, rng)
    if entity == "US_SSN":
        return fake.ssn()
    raise ValueError(entity)


def build_labelled_set(n_docs: int, seed: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    from faker import Faker

    rng = random.Random(seed)
    sentences = {
        lang: [s for s in (SENTENCES / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if s.strip()]
        for lang in {lang for lang, _ in LOCALES.values()}
    }
    fakers = {}
    for locale in LOCALES:
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed)
    docs = []
    locales = list(LOCALES)
    for d in range(n_docs):
        locale = locales[d % len(locales)]
        lang, region = LOCALES[locale]
        fake = fakers[locale]
        host = rng.sample(sentences[lang], rng.randint(8, 30))
        n_values = 0 if rng.random() < 0.25 else rng.randint(1, 5)
        choices = [e for e in ENTITIES if e != "US_SSN" or locale == "en_US"]
        inserts = {}
        for _ in range(n_values):
            entity = rng.choice(choices)
            value = make_value(entity, fake, region, rng)
            if value is None:
                continue
            cue = CUES[lang].get(entity) if rng.random() < 0.5 else None
            inserts.setdefault(rng.randrange(len(host) + 1), []).append((entity, value, cue))
        parts, spans, pos = [], [], 0
        for i in range(len(host) + 1):
            for entity, value, cue in inserts.get(i, []):
                prefix = f"{cue} " if cue else ""
                piece = f"{prefix}{value}"
                # Values sit in their own sentence, as in contact lines and signatures.
                start = pos + len(prefix)
                spans.append((start, start + len(value), entity, value))
                parts.append(piece + ".\n" if rng.random() < 0.5 else piece + ". ")
                pos += len(parts[-1])
            if i < len(host):
                parts.append(host[i] + (" " if rng.random() < 0.8 else "\n"))
                pos += len(parts[-1])
        text = "".join(parts)
        assert all(text[start:end] == value for start, end, _, value in spans)
        docs.append((text, [(start, end, entity) for start, end, entity, _ in spans]))
    return docs


# -- scoring ------------------------------------------------------------------------------------------------------

def score(docs, predictions):
    """Per-entity (tp_gold, n_gold, tp_pred, n_pred) from span overlaps of the same type."""
    table = defaultdict(lambda: [0, 0, 0, 0])
    for (_, gold), predicted in zip(docs, predictions):
        for entity in ENTITIES:
            g = [(s, e) for s, e, t in gold if t == entity]
            p = [(s, e) for s, e, t in predicted if t == entity]
            row = table[entity]
            row[0] += sum(any(ps < ge and gs < pe for ps, pe in p) for gs, ge in g)
            row[1] += len(g)
            row[2] += sum(any(ps < ge and gs < pe for gs, ge in g) for ps, pe in p)
            row[3] += len(p)
    return table


# -- systems ------------------------------------------------------------------------------------------------------

def ours(prescreen: bool = True):
    from curator.pii.scrub import PiiScrubber
    from curator.pii.stage import PiiConfig

    c = PiiConfig()
    return PiiScrubber(c.entities, score_threshold=c.score_threshold, phone_regions=c.phone_regions,
                       prescreen=prescreen, context_chars=c.context_chars)


def plain_presidio():
    from curator.pii.engine import build_nlp_engine, use_bundled_suffix_list

    use_bundled_suffix_list()
    from presidio_analyzer import AnalyzerEngine
    from presidio_anonymizer import AnonymizerEngine

    return AnalyzerEngine(nlp_engine=build_nlp_engine("en")), AnonymizerEngine()


def run_ours(scrubber, texts, batch_size: int = 256):
    spans, seconds = [], 0.0
    for i in range(0, len(texts), batch_size):
        t0 = time.perf_counter()
        results = scrubber.scrub_batch(texts[i:i + batch_size])
        seconds += time.perf_counter() - t0
        spans.extend(list(r.spans) for r in results)  # the spans actually replaced
    return spans, seconds


def run_plain(engines, texts):
    from curator.pii.scrub import resolve_overlaps

    analyzer, anonymizer = engines
    spans, seconds = [], 0.0
    for text in texts:
        t0 = time.perf_counter()
        found = analyzer.analyze(text, language="en")
        anonymizer.anonymize(text, found)
        seconds += time.perf_counter() - t0
        # Scored like ours: one entity per stretch of text (over all of presidio's entity types), as replaced.
        spans.append([(r.start, r.end, r.entity_type) for r in resolve_overlaps(found)])
    return spans, seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=400, help="labelled documents")
    parser.add_argument("--web-docs", type=int, default=150, help="unlabelled web pages for a second throughput row")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if not SHARED.exists():
        sys.exit(f"needs {SHARED}")

    docs = build_labelled_set(args.docs, args.seed)
    texts = [t for t, _ in docs]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    n_gold = defaultdict(int)
    for _, gold in docs:
        for *_, entity in gold:
            n_gold[entity] += 1
    print(f"labelled set: {len(docs)} docs, {mb:.2f} MB, gold spans {dict(n_gold)}")

    with gzip.open(SHARED / "trafilatura-eval" / "trafilatura_wetlike.jsonl.gz", "rt", encoding="utf-8") as f:
        web = [json.loads(line)["text"] for _, line in zip(range(args.web_docs), f)]
    web_mb = sum(len(t.encode()) for t in web) / 1e6
    print(f"web set: {len(web)} trafilatura pages (real WET-like text, unlabelled), {web_mb:.2f} MB\n")

    systems = {
        "curator pii": ours(True), "curator pii, no pre-screen": ours(False), "plain presidio": plain_presidio(),
    }
    for system in systems.values():  # warm-up: tldextract loads its snapshot on first use
        (run_plain if isinstance(system, tuple) else run_ours)(system, ["warm up a@example.com 10.0.0.1"])

    results = {}
    for name, system in systems.items():
        runner = run_plain if isinstance(system, tuple) else run_ours
        spans, seconds = runner(system, texts)
        _, web_seconds = runner(system, web)
        results[name] = (score(docs, spans), seconds, web_seconds)

    header = f"{'entity':<14}{'gold':>6}" + "".join(f"{name + ' P/R':>32}" for name in results)
    print(header)
    print("-" * len(header))
    for entity in ENTITIES:
        cells = []
        for table, _, _ in results.values():
            tp_gold, n, tp_pred, n_pred = table[entity]
            precision = tp_pred / n_pred if n_pred else float("nan")
            cells.append(f"{precision:.3f} / {tp_gold / n if n else float('nan'):.3f}")
        print(f"{entity:<14}{n_gold[entity]:>6}" + "".join(f"{c:>32}" for c in cells))
    print()
    base = results["plain presidio"]
    print(f"{'throughput (MB/s)':<30}{'labelled set':>16}{'web pages':>16}{'speed-up (lab/web)':>24}")
    for name, (_, seconds, web_seconds) in results.items():
        ratio = f"{base[1] / seconds:.1f}x / {base[2] / web_seconds:.1f}x"
        print(f"{name:<30}{mb / seconds:>16.3f}{web_mb / web_seconds:>16.3f}{ratio:>24}")


if __name__ == "__main__":
    main()
