"""Build the embedded sample corpus `curator/data/sample.jsonl.zst` from ../shared/data (a developer tool).

Only public-domain or CC BY text seeds it (attribution in NOTICE): State of the Union addresses (US government
works), Moby-Dick and Botchan (Project Gutenberg), Wagahai wa Neko de Aru (Aozora Bunko), Shakespeare, and
Leipzig-corpora sentences from the lingua test data (CC BY). Everything else is generated here: exact and near
duplicates, boilerplate pages, spam-like pages, synthetic personal data (fake e-mails, phones, IPs, card numbers,
IBANs, SSNs) and a few broken records, so every later stage has something real to catch.

    python scripts/build_sample.py [--shared ../shared/data] [--output curator/data/sample.jsonl.zst]

Deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import zstandard


REPO = Path(__file__).resolve().parent.parent
LINGUA_LANGS = ["de", "fr", "es", "it", "pt", "nl", "ru", "zh", "ja", "pl", "sv", "tr", "fi", "ar", "hi"]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def paragraphs_from_sentences(sents: list[str], rng: random.Random, per_para=(3, 6)) -> list[str]:
    paras, i = [], 0
    while i < len(sents):
        n = rng.randint(*per_para)
        paras.append(" ".join(sents[i:i + n]))
        i += n
    return paras


def chunk_paragraphs(paras: list[str], rng: random.Random, words=(250, 900)) -> list[str]:
    docs, cur, count, target = [], [], 0, rng.randint(*words)
    for p in paras:
        cur.append(p)
        count += len(p.split())
        if count >= target:
            docs.append("\n\n".join(cur))
            cur, count, target = [], 0, rng.randint(*words)
    if cur and count > 80:
        docs.append("\n\n".join(cur))
    return docs


def real_documents(shared: Path, rng: random.Random) -> list[dict]:
    docs: list[dict] = []
    sotu = [json.loads(line) for line in open(shared / "stdlib-sotu/sotu.jsonl")]
    for speech in rng.sample(sotu, 40):
        paras = paragraphs_from_sentences(sentences(speech["text"]), rng)
        for i, text in enumerate(chunk_paragraphs(paras, rng)[:5]):
            docs.append({"id": f"sotu-{speech['year']}-{i}", "text": text, "url": None,
                         "origin": "sotu", "year": speech["year"], "speaker": speech["name"]})
    moby = [json.loads(line) for line in open(shared / "stdlib-moby-dick/moby_dick.jsonl")]
    for chapter in moby[3:63]:
        docs.append({"id": f"moby-{chapter['chapter']}", "text": chapter["text"].strip(), "origin": "moby-dick"})
    botchan = (shared / "sentencepiece-data/botchan.txt").read_text().split("\n\n")
    for i, text in enumerate(chunk_paragraphs([p.replace("\n", " ") for p in botchan if p.strip()], rng)[:20]):
        docs.append({"id": f"botchan-{i}", "text": text, "origin": "botchan"})
    neko = (shared / "sentencepiece-data/wagahaiwa_nekodearu.txt").read_text().splitlines()
    neko = [re.sub(r"《[^》]*》|｜", "", line).strip() for line in neko if line.strip()]
    for i in range(20):
        docs.append({"id": f"neko-{i}", "text": "\n".join(neko[i * 25:(i + 1) * 25]), "origin": "wagahaiwa"})
    plays = (shared / "tinyshakespeare/input.txt").read_text().split("\n\n")
    for i in range(15):
        docs.append({"id": f"shakespeare-{i}", "text": "\n\n".join(plays[i * 30:(i + 1) * 30]),
                     "origin": "shakespeare"})
    lingua = shared / "lingua-language-testdata/language-testdata/sentences"
    for lang in LINGUA_LANGS:
        lines = [s for s in (lingua / f"{lang}.txt").read_text().splitlines() if s.strip()]
        for i in range(14 if lang in ("de", "fr", "es", "it", "pt", "nl", "ru", "zh", "ja") else 4):
            picked = lines[i * 12:(i + 1) * 12]
            text = "\n".join(" ".join(picked[j:j + 3]) for j in range(0, len(picked), 3))
            docs.append({"id": f"leipzig-{lang}-{i}", "text": text, "origin": "leipzig", "expected_lang": lang})
    return docs


# ---------------------------------------------------------------------------------------------------------------
# Generated material. Personal data is synthetic: reserved example domains, 555 phone numbers, documentation IP
# ranges, card numbers with valid Luhn check digits that belong to no one.

FIRST = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Fatima", "Gustav", "Hana", "Ivan", "Jorge", "Keiko", "Lena"]
LAST = ["Moreau", "Okafor", "Schmidt", "Tanaka", "Novak", "Silva", "Larsen", "Haddad", "Kowalski", "Reyes"]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n = n * 2 - 9 if n * 2 > 9 else n * 2
        total += n
    return digits + str((10 - total % 10) % 10)


def iban_de(rng: random.Random) -> str:
    bban = "".join(str(rng.randint(0, 9)) for _ in range(18))
    numeric = bban + "131400"  # "DE" -> 13 14, then "00"
    check = 98 - int(numeric) % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def pii_documents(rng: random.Random, filler: list[str]) -> list[dict]:
    """Synthetic personal data inside real prose, long enough to pass the quality rules like real pages do."""
    docs = []
    templates = [
        "Dear {name},\n\nThank you for your order. If you have questions about your invoice, write to {email} "
        "or call our service desk at {phone}. Our records show the payment was made with the card {card}.\n\n"
        "Kind regards,\nCustomer Service",
        "Server maintenance notice.\n\nThe database host at {ip} will be restarted tonight. The backup node "
        "{ipv6} takes over during the window. Contact the on-call engineer, {name}, at {email} or {phone} if "
        "anything looks wrong after the restart.",
        "Please transfer the deposit to the account {iban} before the end of the month. The tenant, {name}, "
        "confirmed the details by phone ({phone}). A receipt will be sent to {email} once the money arrives.",
        "Application form received.\n\nApplicant: {name}\nSocial security number: {ssn}\nE-mail: {email}\n"
        "Telephone: {phone}\n\nThe application will be reviewed within ten working days and the applicant will "
        "be informed of the decision in writing.",
    ]
    for i in range(60):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        values = {
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example.{rng.choice(['com', 'org', 'net'])}",
            "phone": rng.choice([f"+1 (212) 555-{rng.randint(1000, 9999)}", f"(415) 555-{rng.randint(1000, 9999)}",
                                 f"+44 20 7946 0{rng.randint(100, 999)}", f"+49 30 {rng.randint(1000000, 9999999)}"]),
            "ip": f"192.0.2.{rng.randint(1, 254)}" if i % 2 else f"198.51.100.{rng.randint(1, 254)}",
            "ipv6": f"2001:db8::{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}",
            "card": luhn_complete(rng.choice(["4", "51", "37"]), 16, rng),
            "iban": iban_de(rng),
            "ssn": f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
        }
        prose = "\n\n".join(rng.sample(filler, 2))
        text = templates[i % len(templates)].format(**values)
        docs.append({"id": f"gen-pii-{i}", "text": f"{prose}\n\n{text}" if i % 2 else f"{text}\n\n{prose}",
                     "origin": "generated-pii"})
    return docs


def boilerplate_documents(rng: random.Random) -> list[dict]:
    nav = ["Home", "About us", "Products", "Contact", "Login", "Sign up", "Cart (0)", "Search", "FAQ", "Blog",
           "Privacy policy", "Terms of use", "Cookie settings", "Newsletter", "Careers", "Press"]
    docs = []
    for i in range(40):
        lines = rng.sample(nav, 10) + ["Accept all cookies", "Copyright 2024 Example Corp. All rights reserved.",
                                       "Follow us on social media", "Click here to subscribe", "Read more ..."]
        rng.shuffle(lines)
        docs.append({"id": f"gen-boilerplate-{i}", "text": "\n".join(lines), "origin": "generated-boilerplate",
                     "url": f"https://shop.example.com/page/{i}"})
    spam_words = ["BUY", "NOW", "cheap", "pills", "FREE", "winner", "$$$", "click", "casino", "bonus", "offer"]
    for i in range(30):
        words = [rng.choice(spam_words) for _ in range(rng.randint(60, 200))]
        text = " ".join(words) + " !!! #deal #win #free " + "$$$ " * rng.randint(5, 20)
        docs.append({"id": f"gen-spam-{i}", "text": text, "origin": "generated-spam"})
    return docs


def near_duplicate(text: str, rng: random.Random, edit_fraction: float) -> str:
    words = text.split(" ")
    for _ in range(max(1, int(len(words) * edit_fraction))):
        j = rng.randrange(len(words))
        op = rng.random()
        if op < 0.4:
            words[j] = rng.choice(["the", "a", "this", "that", "very", "new"])
        elif op < 0.7 and len(words) > 10:
            del words[j]
        else:
            words.insert(j, rng.choice(["indeed", "also", "truly", "still"]))
    return " ".join(words)


def duplicate_documents(base: list[dict], rng: random.Random) -> list[dict]:
    english = [d for d in base if d["origin"] in ("sotu", "moby-dick")]
    out = []
    for i, doc in enumerate(rng.sample(english, 30)):
        out.append({**doc, "id": f"gen-exact-dup-{i}", "origin": "generated-exact-duplicate", "copy_of": doc["id"]})
    for i, doc in enumerate(rng.sample(english, 40)):
        text = near_duplicate(doc["text"], rng, rng.choice([0.01, 0.02, 0.03]))
        out.append({**doc, "id": f"gen-near-dup-{i}", "text": text, "origin": "generated-near-duplicate",
                    "copy_of": doc["id"]})
    return out


def broken_records() -> list[bytes]:
    """Records the ingest stage must reject, each with its own reason."""
    return [
        b'{"id": "broken-json", "text": "this line is not valid JSON"\n',
        b'{"id": "broken-missing-text", "body": "the text field is called body here"}\n',
        b'{"id": "broken-number-text", "text": 12345}\n',
        b'{"id": "broken-empty-text", "text": "   "}\n',
        b'{"id": "broken-utf8", "text": "caf\xe9 latin-1 bytes"}\n',
        b'{"id": "sotu-dup-id-check", "text": "A record whose id repeats the next one."}\n',
        b'{"id": "sotu-dup-id-check", "text": "A second record with the same id, rejected as a duplicate id."}\n',
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--output", default=str(REPO / "curator" / "data" / "sample.jsonl.zst"))
    args = parser.parse_args()
    rng = random.Random(20261126)
    base = real_documents(Path(args.shared), rng)
    filler = [p for d in base if d["origin"] == "sotu" for p in d["text"].split("\n\n") if len(p.split()) > 50]
    docs = base + duplicate_documents(base, rng) + pii_documents(rng, filler) + boilerplate_documents(rng)
    rng.shuffle(docs)
    lines = [json.dumps(d, ensure_ascii=False).encode() + b"\n" for d in docs]
    # A handful of records without ids show generated, stable ids.
    for i in range(0, len(lines), 97):
        record = json.loads(lines[i])
        record.pop("id")
        lines[i] = json.dumps(record, ensure_ascii=False).encode() + b"\n"
    broken = broken_records()
    for j, record in enumerate(broken):
        lines.insert(50 + j * 113, record)
    raw = b"".join(lines)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(zstandard.ZstdCompressor(level=19).compress(raw))
    print(f"wrote {out}: {len(lines)} records, {len(raw) / 1e6:.2f} MB raw, {out.stat().st_size / 1e6:.2f} MB zstd")


if __name__ == "__main__":
    main()
