"""Building presidio's analyzer with no download and no network.

presidio's ``AnalyzerEngine()`` wants a large spaCy model and downloads it when missing; its e-mail and URL checks use
``tldextract``, which fetches the public-suffix list on first use. Here:

- the NLP engine is a blank spaCy pipeline (``spacy.blank(lang)``: tokenizer only), enough for the pattern and
  checksum recognizers and for context words; a named spaCy model is loaded only when NER entities (PERSON, ...)
  are configured, and a missing model is a clear error, never a download;
- ``tldextract`` is pointed at the suffix-list snapshot bundled in its wheel (:func:`use_bundled_suffix_list`);
- only the recognizers of the configured entities are registered, so no time goes to unwanted recognizers.

Everything heavy is imported inside functions: this module is imported on the driver while specs are validated.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from curator.errors import CuratorError
from curator.pii.prescreen import DIGIT_RUN, digits_in, is_date_inside, phone_candidate


if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine


DEFAULT_ENTITIES = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "NATIONAL_ID",
    "STREET_ADDRESS", "SECRET",
)
# Entities found by curator's own detectors (:mod:`curator.pii.recognizers`), not by presidio.
CURATOR_ENTITIES = ("NATIONAL_ID", "STREET_ADDRESS", "SECRET")
# Entities found by a spaCy NER model (presidio's SpacyRecognizer); they need `ner_model`.
NER_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION", "NRP")
# presidio's default regions (US GB DE FR IL IN CA BR) plus the large European web languages, so that numbers
# written in national format (no +country prefix) in Italian, Spanish or Dutch text are found too.
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "IL", "IN", "CA", "BR", "AU", "AT", "CH", "BE")
# The blank tokenizer needs no memory per character, unlike a parser or NER model (spaCy's default guard is 1M).
BLANK_MAX_LENGTH = 2_000_000_000
MAX_BLANK_VOCAB = 500_000
# NER models need memory in proportion to the text (~1 GB per 100k characters): longer texts are cut into chunks.
NER_CHUNK_CHARS = 20_000


class PiiSetupError(CuratorError):
    """The pii stage cannot build its analyzer (missing spaCy model, unknown entity)."""


def use_bundled_suffix_list() -> None:
    """Make ``tldextract.extract`` (used by presidio's e-mail and URL recognizers) read only its bundled snapshot.

    The default extractor first looks for a cached suffix list and then fetches ``publicsuffix.org``; with no
    network it waits, logs a long traceback and only then falls back to the snapshot. Idempotent.
    """
    import tldextract.tldextract as tld

    if getattr(tld.TLD_EXTRACTOR, "_curator_offline", False):
        return
    extractor = tld.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
    extractor._curator_offline = True
    # `tldextract.extract` looks the module-level extractor up at call time, so replacing it is enough.
    tld.TLD_EXTRACTOR = extractor


def spacy_model_available(name: str) -> bool:
    """True if ``name`` is an installed spaCy model package or a model folder (checked without importing spaCy)."""
    return Path(name).is_dir() or importlib.util.find_spec(name.replace("-", "_")) is not None


def require_spacy_model(name: str) -> None:
    if not spacy_model_available(name):
        raise PiiSetupError(
            f"pii: spaCy model {name!r} is configured (ner_model) but is neither an installed package nor a model "
            f"folder, and the pii stage never downloads models. Install the model's wheel where the stage runs "
            f"(`pip install <path or URL of the en_core_web_* wheel>`, see the README) or set ner_model to the "
            f"model's folder; or remove ner_model and the NER entities ({', '.join(NER_ENTITIES)})."
        )


# Entities with a recognizer of curator's choice (:func:`_pattern_recognizer`); any other non-NER entity needs
# presidio's predefined registry to tell whether it exists.
OWN_RECOGNIZER_ENTITIES = frozenset((
    "EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", *CURATOR_ENTITIES,
))


def _quiet_presidio_import(ner_model: str | None = None) -> None:
    """Import presidio for CPU use. Without an NER model spaCy is only a tokenizer, yet importing it pulls in
    thinc, which imports torch when installed (1.5 s of a 2.7 s import, in every Spark worker): torch is hidden
    from that first import (thinc then records "no torch"; spaCy's blank and CNN pipelines never use it)."""
    os.environ.setdefault("PRESIDIO_DEVICE", "cpu")
    import sys

    if ner_model is not None or "presidio_analyzer" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        import presidio_analyzer  # noqa: F401
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]


class _TokenText(str):
    """A token's text that also answers ``.text``, like a spaCy Token (presidio's ``NlpArtifacts.to_json``)."""

    @property
    def text(self) -> str:
        return str(self)


def _offline_nlp_engine_class(model: str | None = None):
    _quiet_presidio_import(model)
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

    class OfflineSpacyNlpEngine(SpacyNlpEngine):
        """presidio's spaCy engine over ``spacy.blank(language)``, or over an installed model when one is named.

        A blank pipeline has no lemmatizer, so presidio's context enhancer would see empty lemmas and never match a
        context word ("phone", "ssn", "iban"); the lowercased token text stands in for the lemma.
        """

        def __init__(self, language: str = "en", model: str | None = None):
            super().__init__(models=[{"lang_code": language, "model_name": model or f"blank:{language}"}])
            self.language = language
            self.model = model

        def load(self) -> None:
            import spacy

            if self.model is None:
                nlp = spacy.blank(self.language)
                nlp.max_length = BLANK_MAX_LENGTH
            else:
                require_spacy_model(self.model)
                # Only NER is needed: the parser would cost time and memory for nothing.
                nlp = spacy.load(self.model, exclude=["parser", "senter"])
                # Documents are cut into chunks of at most NER_CHUNK_CHARS before NER (curator.pii.scrub).
                nlp.max_length = max(nlp.max_length, 2 * NER_CHUNK_CHARS)
            self.nlp = {self.language: nlp}
            # Stop words and punctuation looked up in plain sets: spaCy's vocab lookup creates a lexeme per new word.
            self._stop_words = frozenset(nlp.Defaults.stop_words)

        def is_stopword(self, word: str, language: str) -> bool:
            return word.lower() in self._stop_words

        def is_punct(self, word: str, language: str) -> bool:
            return bool(word) and all(unicodedata.category(c).startswith("P") for c in word)

        def process_text(self, text: str, language: str):
            # spaCy's vocabulary keeps a lexeme for every distinct token it has seen: on a long-running worker it
            # grows without bound, so a blank pipeline is simply rebuilt once it is large.
            if self.model is None and len(self.nlp[self.language].vocab) > MAX_BLANK_VOCAB:
                self.load()
            return super().process_text(text, language)

        def lazy_artifacts(self, text: str, language: str):
            """Artifacts that tokenize ``text`` only when first read (blank pipeline only, else None).

            Pattern and phone recognizers never read them; presidio's context enhancer does, for texts where a
            recognizer found something. Most pre-screened windows hold nothing, so most are never tokenized.
            """
            if self.model is not None:
                return None
            return LazyNlpArtifacts(self, text, language)

        def _doc_to_nlp_artifact(self, doc, language):
            if self.model is not None:
                return super()._doc_to_nlp_artifact(doc, language)
            tokens, tokens_indices, lemmas = [], [], []
            for token in doc:
                tokens.append(_TokenText(token.text))
                tokens_indices.append(token.idx)
                lemmas.append(token.lower_)
            # Token texts rather than the Doc: presidio's context enhancer walks the tokens from the start of the
            # text for every result, and each step over a Doc builds a Token object (quadratic, and slow).
            return NlpArtifacts(
                entities=[], tokens=tokens, tokens_indices=tokens_indices, lemmas=lemmas, nlp_engine=self,
                language=language, scores=[],
            )

    class LazyNlpArtifacts(NlpArtifacts):
        def __init__(self, engine, text: str, language: str):
            # NlpArtifacts.__init__ would compute keywords at once; everything token-related waits for __getattr__.
            self.entities, self.scores, self.nlp_engine, self.language = [], [], engine, language
            self._text = text

        def __getattr__(self, name):
            if name not in ("tokens", "tokens_indices", "lemmas", "keywords"):
                raise AttributeError(name)
            full = self.nlp_engine.process_text(self._text, self.language)
            self.tokens, self.tokens_indices, self.lemmas, self.keywords = (
                full.tokens, full.tokens_indices, full.lemmas, full.keywords
            )
            return getattr(self, name)

    return OfflineSpacyNlpEngine


def build_nlp_engine(language: str = "en", model: str | None = None):
    """A loaded presidio NLP engine that never downloads anything (blank spaCy unless ``model`` is given)."""
    engine = _offline_nlp_engine_class(model)(language=language, model=model)
    engine.load()
    return engine


# -- recognizers ------------------------------------------------------------------------------------------------

# Issuer prefixes (IIN ranges) and lengths of the card networks, from the networks' published ranges.
_CARD_RANGES: tuple[tuple[tuple[int, int], tuple[int, ...]], ...] = (
    ((4, 4), (13, 16, 19)),                       # Visa
    ((51, 55), (16,)), ((2221, 2720), (16,)),     # Mastercard
    ((34, 34), (15,)), ((37, 37), (15,)),         # American Express
    ((6011, 6011), (16, 17, 18, 19)), ((644, 649), (16, 17, 18, 19)), ((65, 65), (16, 17, 18, 19)),  # Discover
    ((3528, 3589), (16, 17, 18, 19)), ((2131, 2131), (15,)), ((1800, 1800), (15,)),  # JCB
    ((300, 305), (14, 15, 16, 17, 18, 19)), ((36, 36), (14, 15, 16, 17, 18, 19)),    # Diners Club
    ((38, 39), (14, 15, 16, 17, 18, 19)),
    ((62, 62), (16, 17, 18, 19)),                 # UnionPay
    ((5018, 5018), tuple(range(12, 20))), ((5020, 5020), tuple(range(12, 20))),      # Maestro
    ((5038, 5038), tuple(range(12, 20))), ((56, 58), tuple(range(12, 20))), ((6304, 6304), tuple(range(12, 20))),
    ((6759, 6759), tuple(range(12, 20))), ((6761, 6763), tuple(range(12, 20))), ((604, 604), tuple(range(12, 20))),
    ((6390, 6390), tuple(range(12, 20))),
)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_number_valid(digits: str) -> bool:
    """Luhn checksum plus a length cards have: 16-19 digits for any issuer, 12-15 only with a known issuer prefix
    that uses that length (13-digit Luhn-valid numbers are common otherwise: millisecond timestamps, ids).

    >>> card_number_valid("4111111111111111"), card_number_valid("4111111111111112"), card_number_valid("12345678903")
    (True, False, False)
    >>> card_number_valid("9111111111111110")  # no issuer list needed at 16 digits
    True
    """
    if not digits.isdigit() or not luhn_valid(digits) or digits[0] == "0" and not digits.startswith("0604"):
        return False
    length = len(digits)
    if 16 <= length <= 19 and len(set(digits)) > 2:
        return True
    for (low, high), lengths in _CARD_RANGES:
        width = len(str(low))
        # "0604..." (Maestro) keeps its leading zero: compare on the zero-padded prefix width.
        prefix = int(digits[: width + (1 if low == 604 else 0)])
        if low <= prefix <= high and length in lengths:
            return True
    return False


def _card_recognizer(language: str):
    _quiet_presidio_import()
    from presidio_analyzer import Pattern
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

    class CardRecognizer(CreditCardRecognizer):
        """presidio's card recognizer with every network's prefixes and lengths (12-19 digits).

        presidio's own pattern stops at 17 digits and only knows some issuers; here any 12-19 digit run (single
        spaces or dashes between groups) is a candidate and :func:`card_number_valid` (Luhn + length) decides.
        """

        PATTERNS = [Pattern("Card number 12-19 digits", r"\b\d(?:[ -]?\d){11,18}\b", 0.3)]

        def validate_result(self, pattern_text: str) -> bool:
            groups = re.split(r"[ -]", pattern_text)
            # Cards are printed in groups of 4 (Amex and Diners 4-6-5 / 4-6-4): "100 101 103 106 110 115" is a list.
            if len(groups) > 1 and any(len(g) < 4 for g in groups[:-1]):
                return False
            return card_number_valid("".join(groups))

        def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
            results = super().analyze(text, entities, nlp_artifacts, regex_flags)
            # "0.37866875250654886": digits after a decimal point are a fraction, not a card.
            return [r for r in results if not re.search(r"\d[.,]\Z", text[max(0, r.start - 2):r.start])]

    return CardRecognizer(supported_language=language)


_PHONE_PAD_BEFORE, _PHONE_PAD_AFTER = 8, 40
_DIGIT = re.compile(r"\d")


def _run_may_be_phone(text: str, start: int, end: int) -> bool:
    """A cheap test on a whole digit run, before the costly matcher: False only where :func:`phone_in_context` would
    reject every match inside the run (decimals, dotted quads, runs glued to a word or a larger number, bare runs
    in code with no cue word, no "+" and no trunk "0", national numbers too short to be accepted)."""
    run = text[start:end]
    if _DECIMAL.match(run) or _DOTTED_QUAD.fullmatch(run):
        return False
    before = text[max(0, start - 40):start]
    # A match's digits lie in one run (the matcher joins digit groups only across the punctuation a run spans), plus
    # an extension's digits after it. With no "+"/"00" prefix and no digit just after the run, no match can have the
    # digits phone_in_context needs for a national number: most runs in prose ("1945. (15)") end here.
    if (
        digits_in(run) < PHONE_MIN_NATIONAL_DIGITS
        and "00" not in run
        and "+" not in before[-10:]  # the matcher takes up to two "+" or brackets, each with 4 punctuation marks
        and "\uff0b" not in before[-10:]
        and not _DIGIT.search(text, end, end + 16)
    ):
        return False
    if re.search(r"(?:\d[.,]|[^\W\d][\-.]|[^\W\d_])\Z", before):
        return False
    if _BARE_DIGITS.match(run) and not run.startswith("0") and not re.search(r"(?:\+|\+\s|\(|00)\Z", before):
        return _PHONE_CUE.search(before) is not None
    return True


def phone_spans(text: str) -> list[tuple[int, int]]:
    """Disjoint spans around every digit run that could be a phone number, padded for lead and extension."""
    spans: list[tuple[int, int]] = []
    for m in DIGIT_RUN.finditer(text):
        if not phone_candidate(m.group()) or not _run_may_be_phone(text, m.start(), m.end()):
            continue
        start, end = max(0, m.start() - _PHONE_PAD_BEFORE), min(len(text), m.end() + _PHONE_PAD_AFTER)
        # Widen to whitespace (a little) so the matcher sees the same neighbouring characters as in the text.
        for _ in range(16):
            if start == 0 or text[start - 1].isspace():
                break
            start -= 1
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


_CURRENCY = "$€£¥₹₽₩¢"
# Seven digits is the shortest national number we accept without a "+" or "00" prefix: shorter valid numbers exist
# (NL "14020" service numbers, short German extensions) but in text they are mostly zip codes, amounts and counts.
PHONE_MIN_NATIONAL_DIGITS = 7
_TABLE_GAP = re.compile(r"\S(?: {2,}|\t)\S")
_DOTTED_QUAD = re.compile(r"(?<![\d.+])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d.])")
_DECIMAL = re.compile(r"^\(?\d+\.\d+\)?$")
_ZIP_PLUS_4 = re.compile(r"^\d{5}-\d{4}$")
_BARE_DIGITS = re.compile(r"^\(?\d+\)?$")
# Words that announce a phone number; a run of digits with no separators is a phone number only after one of them
# (or with a trunk "0" or "+" prefix): in code and tables bare runs are ids, timestamps, seeds and integers.
_PHONE_CUE = re.compile(
    r"(?i)(?:phone|tel|call|mobile|mob|cell|fax|contact|reach|dial|text|sms|whatsapp|number|no\.|nr\.|"
    r"telefon|téléphone|tél|teléfono|telefone|telefono|celular|handy|portable|móvil|ring|☎|📞)"
    r"\W{0,5}(?:\w{1,8}\W{1,5}){0,3}\Z"
)
# A number continues across a separator: the match is one cell of a row of numbers ("63 - 64.3 - 59 - 80").
# A period or comma followed by a space ends a sentence or a list item, so only a dash or slash may be spaced.
_CONTINUES_BEFORE = re.compile(r"(?:\d[ \t]*[-\u2013/][ \t]*|\d[.,]|\d[ \t]+)\Z")
_CONTINUES_AFTER = re.compile(r"^(?:[ \t]*[-\u2013/][ \t]*\d|[.,]\d|[ \t]+\d)")


def phone_in_context(text: str, start: int, end: int) -> bool:
    """False for a phone-number match that is really part of an amount, a larger number, a table row, a date, a
    version or an IP address, or a bare digit run in code.

    >>> [phone_in_context(t, t.index("4"), len(t)) for t in ("$475,061.386", "call 475 061 3860", "NY 14020")]
    [False, True, False]
    >>> t = "Total   1,234   4567890   8765432"; phone_in_context(t, 16, 33)
    False
    >>> [phone_in_context(t, 0, len(t)) for t in ("0.142857143", "3221225985", "03894-4801", "0-596-00797-3")]
    [False, False, False, True]
    """
    value = text[start:end]
    digits = digits_in(value)
    stripped = value.lstrip("( ")
    international = stripped[:1] in "+\uff0b" or stripped.startswith("00")
    if not international and digits < PHONE_MIN_NATIONAL_DIGITS:
        return False
    before = text[max(0, start - 40):start]
    after = text[end:end + 3]
    # "$475,061.386": digits glued to a thousands separator or decimal point belong to a larger number;
    # "ncurses-6.1-20190511", "x86_64": a number glued to a word is part of a name or version.
    if re.search(r"(?:\d[.,]|[\w][\-.]|[\w])\Z", before) or re.match(r"[.,]\d|%|(?![xX]\d|ext)\w", after):
        return False
    if any(c in _CURRENCY for c in before.rstrip()[-1:]) or any(c in _CURRENCY for c in value):
        return False
    if _TABLE_GAP.search(value) or _CONTINUES_BEFORE.search(before) or _CONTINUES_AFTER.match(after):
        return False
    if _DECIMAL.match(value) or _ZIP_PLUS_4.match(value) or _DOTTED_QUAD.search(value) or is_date_inside(value):
        return False
    # Slashes: "030/1234567" (a German area code) yes; "1895.22/1013", "3000/2006" no.
    if "/" in value and not re.match(r"^\(?0\d{1,5}\)?\s?/", value):
        return False
    if re.search(r"(?i)\bISBN[\s:-]*\Z", before):
        return False
    if _BARE_DIGITS.match(value) and not international and not stripped.startswith("0"):
        return _PHONE_CUE.search(before) is not None
    return True


def _all_runs_international(span: str, results) -> bool:
    """True when every phone-length digit run of ``span`` lies inside a result that starts with a plus sign."""
    if not results:
        return False
    if any(span[r.start] not in "+\uff0b" for r in results):
        return False
    for m in DIGIT_RUN.finditer(span):
        if phone_candidate(m.group()) and not any(
            r.start <= m.start() and m.end() <= r.end for r in results
        ):
            return False
    return True


def _phone_recognizer(language: str, regions: Sequence[str]):
    import phonenumbers
    from presidio_analyzer import EntityRecognizer
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    class RunPhoneRecognizer(PhoneRecognizer):
        """presidio's phone recognizer (phonenumbers' matcher, once per region), run only around digit runs.

        The matcher is the costliest recognizer: per region it scans the whole text and tries to parse every
        digit group. Here it scans only the padded runs of at least 5 digits that are not dates (:func:`phone_spans`;
        shorter numbers and dates are dropped, a deliberate difference from presidio), and stops after
        the first region when that region already accepted every run there as an international number ("+49 ..."):
        the matcher's candidates do not depend on the region, and a number with a "+" prefix parses the same in
        every region, so the other regions cannot find anything else.
        """

        def analyze(self, text, entities, nlp_artifacts=None):
            results = []
            for start, end in phone_spans(text):
                span = text[start:end]
                found = self._match(span, self.supported_regions[:1], nlp_artifacts)
                if not _all_runs_international(span, found):
                    found += self._match(span, self.supported_regions[1:], nlp_artifacts)
                for result in found:
                    # The padding around a run may hold a short number or a date: never phone numbers here.
                    if phone_candidate(span[result.start:result.end]) and phone_in_context(
                        text, result.start + start, result.end + start
                    ):
                        result.start += start
                        result.end += start
                        results.append(result)
            return EntityRecognizer.remove_duplicates(results)

        def _match(self, text, regions, nlp_artifacts):
            # The body of presidio's PhoneRecognizer.analyze, for a subset of the regions.
            results = []
            for region in regions:
                for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=self.leniency):
                    try:
                        number_region = phonenumbers.region_code_for_number(
                            phonenumbers.parse(text[match.start:match.end])
                        )
                    except phonenumbers.NumberParseException:
                        number_region = region
                    results.append(self._get_recognizer_result(match, text, number_region, nlp_artifacts))
            return results

    return RunPhoneRecognizer(supported_language=language, supported_regions=tuple(regions))


def _span_recognizer(entity: str, language: str, detect):
    """A presidio recognizer around one of curator's detectors (a function from text to ``Span`` tuples)."""
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class SpanRecognizer(EntityRecognizer):
        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return [
                RecognizerResult(s.entity, s.start, s.end, s.score) for s in detect(text) if s.entity in entities
            ]

    return SpanRecognizer(
        supported_entities=[entity], supported_language=language, name=f"curator_{entity.lower()}"
    )


def _pattern_recognizer(
    entity: str, language: str, phone_regions: Sequence[str], keep_ip_networks: Sequence[str] = ()
):
    """Our choice of recognizer for the default entities; None means: take presidio's predefined one."""
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, UsSsnRecognizer

    from curator.pii import recognizers as r

    keep = tuple(ipaddress.ip_network(n, strict=False) for n in keep_ip_networks)
    factories = {
        "EMAIL_ADDRESS": lambda: EmailRecognizer(supported_language=language),
        "PHONE_NUMBER": lambda: _phone_recognizer(language, phone_regions),
        "IP_ADDRESS": lambda: _span_recognizer("IP_ADDRESS", language, lambda text: r.ip_spans(text, keep)),
        "CREDIT_CARD": lambda: _card_recognizer(language),
        "IBAN_CODE": lambda: _span_recognizer("IBAN_CODE", language, r.iban_spans),
        "US_SSN": lambda: UsSsnRecognizer(supported_language=language),
        "NATIONAL_ID": lambda: _span_recognizer("NATIONAL_ID", language, r.national_id_spans),
        "STREET_ADDRESS": lambda: _span_recognizer("STREET_ADDRESS", language, r.address_spans),
        "SECRET": lambda: _span_recognizer("SECRET", language, r.secret_spans),
    }
    factory = factories.get(entity)
    return factory() if factory else None


def _ner_entities(entities: Sequence[str], ner_model: str | None) -> list[str]:
    """The NER entities among ``entities``; an error when there are some and no model is set."""
    ner_wanted = [e for e in entities if e in NER_ENTITIES]
    if ner_wanted and not ner_model:
        raise PiiSetupError(f"pii: entities {ner_wanted} need a spaCy NER model; set ner_model (e.g. en_core_web_lg)")
    return ner_wanted


def check_analyzer_setup(entities: Sequence[str], *, language: str = "en", ner_model: str | None = None,
                         **options) -> None:
    """Fail with :class:`PiiSetupError` where :func:`build_analyzer` would (NER entities without an installed
    model, an entity no recognizer finds), building presidio only when the check needs its registry."""
    if _ner_entities(entities, ner_model):
        require_spacy_model(ner_model)
    if any(e not in OWN_RECOGNIZER_ENTITIES and e not in NER_ENTITIES for e in entities):
        build_analyzer(entities, language=language, ner_model=ner_model, **options)


def build_analyzer(
    entities: Sequence[str],
    *,
    language: str = "en",
    phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
    ner_model: str | None = None,
    keep_ip_networks: Sequence[str] = (),
) -> AnalyzerEngine:
    """An ``AnalyzerEngine`` holding only the recognizers of ``entities``; built with no network access.

    Args:
        entities: presidio entity names. The defaults use curator's recognizer choices; any other entity takes
            presidio's predefined recognizer for ``language``; NER entities need ``ner_model``.
        language: the recognizers' language key and the blank tokenizer's language. Pattern recognizers do not
            depend on the language of the text, so one key serves multilingual corpora.
        phone_regions: regions whose national number formats the phone recognizer accepts.
        ner_model: an installed spaCy model (package name or folder) for NER entities; never downloaded.
        keep_ip_networks: CIDR networks whose addresses are left in the text (loopback, documentation ranges).
    """
    ner_wanted = _ner_entities(entities, ner_model)
    _quiet_presidio_import(ner_model if ner_wanted else None)
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    use_bundled_suffix_list()
    nlp_engine = build_nlp_engine(language, ner_model if ner_wanted else None)

    recognizers, missing, predefined = [], [], None
    for entity in entities:
        if entity in NER_ENTITIES:
            continue
        recognizer = _pattern_recognizer(entity, language, phone_regions, keep_ip_networks)
        if recognizer is not None:
            recognizers.append(recognizer)
            continue
        if predefined is None:
            loader = RecognizerRegistry(supported_languages=[language])
            loader.load_predefined_recognizers(languages=[language], nlp_engine=None)
            predefined = [r for r in loader.recognizers if r.__class__.__name__ != "SpacyRecognizer"]
        found = [r for r in predefined if entity in r.supported_entities and r not in recognizers]
        recognizers.extend(found)
        if not found:
            missing.append(entity)
    if missing:
        raise PiiSetupError(f"pii: no presidio recognizer for entities {missing} in language {language!r}")
    if ner_wanted:
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        recognizers.append(SpacyRecognizer(supported_language=language, supported_entities=ner_wanted))

    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=[language])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[language])
