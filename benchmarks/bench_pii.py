"""PII scrubbing: curator's pii stage logic beside plain presidio with the same entities, in one script.

1. Labelled set (generated here, never committed): real sentences from ../shared/data (lingua test sentences in 7
   languages) with Faker values embedded, from 11 Faker locales (en_US, en_GB, en_CA, en_IN, en_AU, de_DE, fr_FR,
   es_ES, it_IT, nl_NL, pt_BR): e-mail, phone (the locale's own formats, half of them re-written by
   ``phonenumbers`` in international or national format, some with an extension), IPv4/IPv6, card, IBAN (upper
   or lower case, spaced or not), US SSN (en_US), national ids (BR CPF, ES DNI/NIE, IT codice fiscale, FR NIR,
   IN Aadhaar, CA SIN), street addresses (en_US, en_GB, en_CA, one line) and person names. Some values follow a cue
   word in the document's language ("Tel.", "E-Mail:"), the others stand bare; about a quarter of the documents
   hold none. Phone values are kept only when ``phonenumbers`` says they are valid numbers of the locale's country.
   Per entity: recall and precision by span overlap of the same type, and the leak rate (share of gold values that
   are still in the output verbatim).
2. NeMo-Curator's PII test lines (../shared/data/nemo-curator-pii-tests, tags stripped): an independent labelled
   check written by other people; recall and leak per tag.
3. Replacements per MB on text that holds (almost) no personal data: State of the Union speeches (stdlib-sotu) and
   the Python 3.11 reST docs (technical text with code); every replacement there is listed by entity, and a sample
   is printed so a reader can judge them.
4. Throughput: analyze + anonymize, single process, engines built and warmed first.

"plain presidio" = ``AnalyzerEngine`` with its predefined recognizers on the same offline blank-spaCy NLP engine (a
default ``AnalyzerEngine()`` would download ``en_core_web_lg``), asked for the same entities where it has a
recognizer (it has none for NATIONAL_ID, STREET_ADDRESS or SECRET), and ``AnonymizerEngine`` with default operators.

Run: .venv/bin/python benchmarks/bench_pii.py [--docs 600] [--seed 7] [--ner-model PATH]
Needs the bench extra (faker). With --ner-model (a spaCy model package or folder) curator also replaces PERSON.
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
SENTENCES = SHARED / "lingua-language-testdata" / "language-testdata" / "sentences"
ENTITIES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "NATIONAL_ID",
    "STREET_ADDRESS", "PERSON",
)
PRESIDIO_ENTITIES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN")

# Faker locale -> (host text language, phone region)
LOCALES = {
    "en_US": ("en", "US"), "en_GB": ("en", "GB"), "en_CA": ("en", "CA"), "en_IN": ("en", "IN"),
    "en_AU": ("en", "AU"), "de_DE": ("de", "DE"), "fr_FR": ("fr", "FR"), "es_ES": ("es", "ES"),
    "it_IT": ("it", "IT"), "nl_NL": ("nl", "NL"), "pt_BR": ("pt", "BR"),
}
ADDRESS_LOCALES = ("en_US", "en_GB", "en_CA")
CUES = {
    "en": {"EMAIL_ADDRESS": "email:", "PHONE_NUMBER": "phone", "IP_ADDRESS": "IP", "CREDIT_CARD": "card number",
           "IBAN_CODE": "IBAN", "US_SSN": "SSN", "STREET_ADDRESS": "address:", "PERSON": "Contact:"},
    "de": {"EMAIL_ADDRESS": "E-Mail:", "PHONE_NUMBER": "Tel.", "IP_ADDRESS": "IP-Adresse",
           "CREDIT_CARD": "Kartennummer", "IBAN_CODE": "IBAN", "PERSON": "Ansprechpartner:"},
    "fr": {"EMAIL_ADDRESS": "courriel :", "PHONE_NUMBER": "tél.", "IP_ADDRESS": "adresse IP",
           "CREDIT_CARD": "carte", "IBAN_CODE": "IBAN", "NATIONAL_ID": "n° de sécurité sociale",
           "PERSON": "Contact :"},
    "es": {"EMAIL_ADDRESS": "correo:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "IP", "CREDIT_CARD": "tarjeta",
           "IBAN_CODE": "IBAN", "NATIONAL_ID": "DNI", "PERSON": "Contacto:"},
    "it": {"EMAIL_ADDRESS": "email:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "indirizzo IP", "CREDIT_CARD": "carta",
           "IBAN_CODE": "IBAN", "NATIONAL_ID": "codice fiscale", "PERSON": "Referente:"},
    "nl": {"EMAIL_ADDRESS": "e-mail:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "IP-adres", "CREDIT_CARD": "kaart",
           "IBAN_CODE": "IBAN", "PERSON": "Contactpersoon:"},
    "pt": {"EMAIL_ADDRESS": "e-mail:", "PHONE_NUMBER": "tel.", "IP_ADDRESS": "IP", "CREDIT_CARD": "cartão",
           "IBAN_CODE": "IBAN", "NATIONAL_ID": "CPF", "PERSON": "Contato:"},
}
# National id cues that do not depend on the host language.
ID_CUES = {"en_CA": "SIN", "en_IN": "Aadhaar"}


# -- labelled set -------------------------------------------------------------------------------------------------

def _phone(fake, region: str, rng: random.Random) -> str | None:
    import phonenumbers

    for _ in range(30):
        value = fake.phone_number()
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        roll = rng.random()
        if roll < 0.5:
            return value  # Faker's own format for the locale
        fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL if roll < 0.75 else phonenumbers.PhoneNumberFormat.NATIONAL
        value = phonenumbers.format_number(number, fmt)
        if rng.random() < 0.1:
            value += f" ext. {rng.randint(10, 9999)}"
        return value
    return None


def _valid_aadhaar(value: str) -> bool:
    from stdnum.in_ import aadhaar

    return aadhaar.is_valid(value)


def _national_id(fake, locale: str, rng: random.Random) -> str | None:
    if locale == "pt_BR":
        return fake.cpf()
    if locale == "es_ES":
        return fake.nif() if rng.random() < 0.7 else fake.nie()
    if locale in ("it_IT", "fr_FR", "en_CA"):
        return fake.ssn()  # codice fiscale, NIR, SIN
    if locale == "en_IN":
        value = fake.aadhaar_id()
        return " ".join(value[i:i + 4] for i in range(0, 12, 4)) if rng.random() < 0.6 else value
    return None


def _card(fake, rng: random.Random) -> str:
    digits = fake.credit_card_number()
    style = rng.random()
    if len(digits) == 16 and style < 0.4:
        sep = " " if style < 0.25 else "-"
        return sep.join(digits[i:i + 4] for i in range(0, 16, 4))
    return digits


def _iban(fake, rng: random.Random) -> str | None:
    from stdnum import iban

    value = fake.iban()
    if not iban.is_valid(value):
        return None  # Faker's en_GB IBANs are one character short of the 22 that GB IBANs have (ISO 13616)
    value = " ".join(value[i:i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.5 else value
    return value.lower() if rng.random() < 0.2 else value


def _ip(fake, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.55:
        return fake.ipv4_public() if rng.random() < 0.7 else fake.ipv4_private()
    address = fake.ipv6()
    return str(ipaddress.IPv6Address(address)) if roll < 0.8 else address  # compressed or full form


def make_value(entity: str, fake, locale: str, region: str, rng: random.Random) -> str | None:
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
    if entity == "NATIONAL_ID":
        value = _national_id(fake, locale, rng)
        # Faker's Aadhaar numbers do not carry a valid Verhoeff check digit: not Aadhaar numbers.
        return None if locale == "en_IN" and not _valid_aadhaar(value) else value
    if entity == "STREET_ADDRESS":
        return re.sub(r"\s*\n\s*", ", ", fake.address())
    if entity == "PERSON":
        return fake.name()
    raise ValueError(entity)


def available(entity: str, locale: str) -> bool:
    if entity == "US_SSN":
        return locale == "en_US"
    if entity == "NATIONAL_ID":
        return locale in ("pt_BR", "es_ES", "it_IT", "fr_FR", "en_CA", "en_IN")
    if entity == "STREET_ADDRESS":
        return locale in ADDRESS_LOCALES
    if entity == "PERSON":
        return locale.startswith("en_")  # the NER model is English
    return True


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
        choices = [e for e in ENTITIES if available(e, locale)]
        inserts = {}
        for _ in range(n_values):
            entity = rng.choice(choices)
            value = make_value(entity, fake, locale, region, rng)
            if value is None:
                continue
            cue_word = ID_CUES.get(locale) if entity == "NATIONAL_ID" and locale in ID_CUES else CUES[lang].get(entity)
            cue = cue_word if rng.random() < 0.5 else None
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

def score(docs, predictions, outputs):
    """Per-entity [tp_gold, n_gold, tp_pred, n_pred, leaked] from span overlaps of the same type; a gold value leaks
    when it is still in the output text verbatim."""
    table = defaultdict(lambda: [0, 0, 0, 0, 0])
    for (text, gold), predicted, output in zip(docs, predictions, outputs):
        for entity in ENTITIES:
            g = [(s, e) for s, e, t in gold if t == entity]
            p = [(s, e) for s, e, t in predicted if t == entity]
            row = table[entity]
            row[0] += sum(any(ps < ge and gs < pe for ps, pe in p) for gs, ge in g)
            row[1] += len(g)
            row[2] += sum(any(ps < ge and gs < pe for gs, ge in g) for ps, pe in p)
            row[3] += len(p)
            row[4] += sum(text[gs:ge] in output for gs, ge in g)
    return table


def nemo_lines():
    """NeMo-Curator's tagged test lines as (text, [(start, end, tag)]), tags stripped."""
    tag = re.compile(r"<(\w+)>(.*?)</\1>")
    lines = []
    for path in sorted((SHARED / "nemo-curator-pii-tests").glob("*.txt")):
        for raw in path.read_text(encoding="utf-8").splitlines():
            if not raw.strip():
                continue
            text, gold, pos = [], [], 0
            for m in tag.finditer(raw):
                text.append(raw[pos:m.start()])
                start = sum(map(len, text))
                text.append(m.group(2))
                gold.append((start, start + len(m.group(2)), m.group(1)))
                pos = m.end()
            text.append(raw[pos:])
            lines.append(("".join(text), gold))
    return lines


# NeMo tag -> the entities that count as finding it.
NEMO_TAGS = {
    "email": {"EMAIL_ADDRESS"}, "phone_number": {"PHONE_NUMBER"}, "ssn": {"US_SSN"}, "ip_address": {"IP_ADDRESS"},
    "credit_card_number": {"CREDIT_CARD"}, "address": {"STREET_ADDRESS", "LOCATION"}, "name": {"PERSON"},
    "birth_date": {"DATE_TIME"},
}


def load_jsonl(path: Path, field: str = "text") -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)[field] for line in f]


# -- systems ------------------------------------------------------------------------------------------------------

def ours(prescreen: bool = True, ner_model: str | None = None):
    from curator.pii.scrub import PiiScrubber
    from curator.pii.stage import PiiConfig

    c = PiiConfig() if ner_model is None else PiiConfig(entities=[*PiiConfig().entities, "PERSON"], ner_model=ner_model)
    return PiiScrubber(c.entities, score_threshold=c.score_threshold, phone_regions=c.phone_regions,
                       prescreen=prescreen, context_chars=c.context_chars, ner_model=c.ner_model)


def plain_presidio():
    from curator.pii.engine import build_nlp_engine, use_bundled_suffix_list

    use_bundled_suffix_list()
    from presidio_analyzer import AnalyzerEngine
    from presidio_anonymizer import AnonymizerEngine

    return AnalyzerEngine(nlp_engine=build_nlp_engine("en")), AnonymizerEngine()


def run_ours(scrubber, texts, batch_size: int = 256):
    spans, outputs, seconds = [], [], 0.0
    for i in range(0, len(texts), batch_size):
        t0 = time.perf_counter()
        results = scrubber.scrub_batch(texts[i:i + batch_size])
        seconds += time.perf_counter() - t0
        spans.extend(list(r.spans) for r in results)  # the spans actually replaced
        outputs.extend(r.text for r in results)
    return spans, outputs, seconds


def run_plain(engines, texts):
    from curator.pii.scrub import resolve_overlaps

    analyzer, anonymizer = engines
    spans, outputs, seconds = [], [], 0.0
    for text in texts:
        t0 = time.perf_counter()
        found = analyzer.analyze(text, language="en", entities=list(PRESIDIO_ENTITIES))
        outputs.append(anonymizer.anonymize(text, found).text)
        seconds += time.perf_counter() - t0
        # Scored like ours: one entity per stretch of text, as replaced.
        spans.append([(r.start, r.end, r.entity_type) for r in resolve_overlaps(found)])
    return spans, outputs, seconds


def run(system, texts):
    return (run_plain if isinstance(system, tuple) else run_ours)(system, texts)


def fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=600, help="labelled documents")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ner-model", help="spaCy model package or folder: adds PERSON to curator's entities")
    parser.add_argument("--samples", type=int, default=12, help="replacements printed per clean corpus")
    args = parser.parse_args(argv)
    if not SHARED.exists():
        sys.exit(f"needs {SHARED}")

    docs = build_labelled_set(args.docs, args.seed)
    texts = [t for t, _ in docs]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    n_gold = Counter(entity for _, gold in docs for *_, entity in gold)
    print(f"labelled set: {len(docs)} docs, {mb:.2f} MB, {len(LOCALES)} Faker locales, gold spans {dict(n_gold)}\n")

    systems = {"curator pii (default)": ours(True), "plain presidio (same entities)": plain_presidio()}
    if args.ner_model:
        systems["curator pii + NER"] = ours(False, args.ner_model)
    for system in systems.values():  # warm-up: tldextract loads its snapshot on first use
        run(system, ["warm up a@example.com 10.0.0.1 at 12 Main Street, Springfield, IL 62701"])

    print("### Labelled set (Faker values in real sentences): precision / recall / leak\n")
    lab = {}
    for name, system in systems.items():
        spans, outputs, seconds = run(system, texts)
        lab[name] = (score(docs, spans, outputs), seconds)
    print("| entity | gold | " + " | ".join(f"{n} P / R / leak" for n in lab) + " |")
    print("|---|---:|" + "---:|" * len(lab))
    for entity in ENTITIES:
        cells = []
        for table, _ in lab.values():
            tp_gold, n, tp_pred, n_pred, leaked = table[entity]
            cells.append(" / ".join(fmt(x) for x in (
                tp_pred / n_pred if n_pred else float("nan"), tp_gold / n if n else float("nan"),
                leaked / n if n else float("nan"))))
        print(f"| {entity} | {n_gold[entity]} | " + " | ".join(cells) + " |")
    for name, (table, _) in lab.items():
        leaked = sum(row[4] for e, row in table.items() if e != "PERSON")
        total = sum(row[1] for e, row in table.items() if e != "PERSON")
        print(f"\n{name}: {leaked}/{total} = {leaked / total:.3f} of all labelled values except names leak verbatim",
              end="")
        if "PERSON" in table and table["PERSON"][1]:
            leaked, total = sum(row[4] for row in table.values()), sum(row[1] for row in table.values())
            print(f"; with names {leaked}/{total} = {leaked / total:.3f}", end="")
    print("\n")

    print("### NeMo-Curator PII test lines (independent): recall / leak per tag\n")
    nemo = nemo_lines()
    nemo_texts = [t for t, _ in nemo]
    nemo_gold = Counter(tag for _, gold in nemo for *_, tag in gold)
    nemo_rows = {}
    for name, system in systems.items():
        spans, outputs, _ = run(system, nemo_texts)
        row = defaultdict(lambda: [0, 0])
        for (text, gold), predicted, output in zip(nemo, spans, outputs):
            for gs, ge, tag in gold:
                wanted = NEMO_TAGS.get(tag, set())
                row[tag][0] += any(t in wanted and ps < ge and gs < pe for ps, pe, t in predicted)
                row[tag][1] += text[gs:ge] in output
        nemo_rows[name] = row
    print("| tag | gold | " + " | ".join(f"{n} R / leak" for n in nemo_rows) + " |")
    print("|---|---:|" + "---:|" * len(nemo_rows))
    for tag in sorted(nemo_gold):
        cells = [f"{r[tag][0] / nemo_gold[tag]:.3f} / {r[tag][1] / nemo_gold[tag]:.3f}" for r in nemo_rows.values()]
        print(f"| {tag} | {nemo_gold[tag]} | " + " | ".join(cells) + " |")
    print()

    clean = {
        "State of the Union speeches": load_jsonl(SHARED / "stdlib-sotu" / "sotu.jsonl"),
        "Python 3.11 docs (reST + code)": load_jsonl(SHARED / "python-3.11-docs-rst" / "python-3.11-docs.jsonl.gz"),
    }
    print("### Replacements per MB on clean text (every one is printed by entity; samples below)\n")
    speed = {name: [mb, lab[name][1]] for name in systems}
    rows, samples = [], []
    for corpus, corpus_texts in clean.items():
        corpus_mb = sum(len(t.encode()) for t in corpus_texts) / 1e6
        for name, system in systems.items():
            if name == "curator pii + NER":
                continue  # NER finds names in speeches: true positives there, not false ones
            spans, _, seconds = run(system, corpus_texts)
            speed[name] += [corpus_mb, seconds]
            by_entity = Counter(t for doc in spans for _, _, t in doc)
            n = sum(by_entity.values())
            rows.append(f"| {corpus} | {corpus_mb:.2f} | {name} | {n} | {n / corpus_mb:.2f} | "
                        + ", ".join(f"{e} {c}" for e, c in by_entity.most_common()) + " |")
            if name.startswith("curator"):
                rng = random.Random(args.seed)
                found = [(t, text[max(0, s - 30):e + 30].replace("\n", " ")) for text, doc in zip(corpus_texts, spans)
                         for s, e, t in doc]
                samples += [f"- {corpus}: {t}: `{ctx}`" for t, ctx in rng.sample(found, min(args.samples, len(found)))]
    print("| corpus | MB | system | replacements | per MB | by entity |")
    print("|---|---:|---|---:|---:|---|")
    print("\n".join(rows))
    print("\nSample of curator's replacements in the clean corpora (context +-30 chars):\n")
    print("\n".join(samples))
    print()

    print("### Throughput (MB/s, analyze + anonymize, one process)\n")
    base = speed["plain presidio (same entities)"]
    print("| system | labelled set | speeches | Python docs | all | vs plain presidio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, figures in speed.items():
        pairs = list(zip(figures[::2], figures[1::2]))
        total = sum(m for m, _ in pairs) / sum(t for _, t in pairs)
        base_total = sum(base[::2][:len(pairs)]) / sum(base[1::2][:len(pairs)])
        cells = [f"{m / t:.3f}" for m, t in pairs] + ["-"] * (3 - len(pairs))
        print(f"| {name} | " + " | ".join(cells) + f" | {total:.3f} | {total / base_total:.1f}x |")


if __name__ == "__main__":
    main()
