"""curator's own detectors: pure functions from a text to ``(start, end, entity, score)`` spans.

Each detector is a candidate regex plus a validator that a random string rarely passes (a checksum, a parser, a
grammar), plus the context rules that keep prose and code untouched: a dotted run inside a longer dotted token is an
OID or a version, not an IPv4 address; ``::`` or ``be::`` is C++ or reST, not IPv6; ``$475,061.386`` is money.
:mod:`curator.pii.engine` wraps them as presidio recognizers so they combine with presidio's own ones.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple


class Span(NamedTuple):
    start: int
    end: int
    entity: str
    score: float


def literal_positions(haystack: str, literal: str) -> Iterator[int]:
    """Every start of ``literal`` in ``haystack``, found with ``str.find`` (a C scan, far faster than a regex that
    starts with a letter class: ``re`` tries such a regex at every letter)."""
    i = haystack.find(literal)
    while i >= 0:
        yield i
        i = haystack.find(literal, i + 1)


def folded(text: str) -> str | None:
    """``text.casefold()`` when it keeps every offset (it does for nearly all text; "ß" -> "ss" does not), else None.
    Case-insensitive literals are then found with ``str.find`` on the folded text at the same offsets."""
    fold = text.casefold()
    return fold if len(fold) == len(text) else None


# -- IP addresses -------------------------------------------------------------------------------------------------

# Not preceded by a word character, a dot or a colon and not followed by one that extends the token: "1.3.6.1.4.1"
# (an OID), "2.7.2.2.1", "v1.2.3.4" and "host1.2.3.4.example" are parts of longer tokens.
_IPV4 = re.compile(r"(?<![\w.:/\-])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\w\-]|\.\w|:\d+\.|/\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])((?:[0-9A-Fa-f]{1,4}|:)?(?::[0-9A-Fa-f]{0,4}){2,7}(?::\d{1,3}(?:\.\d{1,3}){3})?)(?![\w:]|\.\w|/\d)"
)
# A version keyword shortly before a dotted number: "Python 2.7.2.2", "version 1.0.0.1", "v 3.1.4.1".
_VERSION_CUE = re.compile(
    r"(?i)(?:\bversions?|\brelease[sd]?|\bpython|\bgcc|\bclang|\bv|\bbuild|\bpatch|==|>=|<=|~=)\W{0,3}\Z"
)
# All-single-digit quads ("2.7.2.2", "1.2.3.4") are mostly versions and section numbers; only after a network word.
_NETWORK_CUE = re.compile(r"(?i)(?:\bip|address|host|server|dns|ping|gateway|router|nameserver|peer)\W{0,12}\Z")
# Not personal data: loopback, "this network", the documentation ranges of RFC 5737 and RFC 3849, and the
# reserved class E block (where netmasks such as 255.255.255.0 fall). Configurable (``keep_ip_networks``).
DEFAULT_KEEP_IP_NETWORKS = (
    "127.0.0.0/8", "0.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
    "::1/128", "::/128", "2001:db8::/32",
)


def ip_spans(text: str, keep: Sequence[ipaddress._BaseNetwork] = ()) -> list[Span]:
    """IPv4 and IPv6 addresses that parse and stand as their own token; addresses in ``keep`` networks are left.

    >>> [text[s.start:s.end] for text in ["host 10.0.0.12 up, OID 1.3.6.1.4.1 and Python 2.7.2.2"]
    ...  for s in ip_spans(text)]
    ['10.0.0.12']
    >>> [s.entity for s in ip_spans("reST code:: and be:: and std::move but fe80::1ff:fe23:4567:890a")]
    ['IP_ADDRESS']
    """
    spans = []
    for m in _IPV4.finditer(text):
        value = m.group(1)
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            continue
        before = text[max(0, m.start() - 16):m.start()]
        if _VERSION_CUE.search(before):
            continue
        if max(len(octet) for octet in value.split(".")) == 1 and not _NETWORK_CUE.search(before):
            continue
        if any(address in net for net in keep if net.version == 4):
            continue
        spans.append(Span(m.start(1), m.end(1), "IP_ADDRESS", 0.8))
    for m in _IPV6.finditer(text):
        value = m.group(1)
        groups = [g for g in re.split(r"[:.]", value) if g]
        # "::", "be::", "a::b" are C++ scopes, reST literal markers and Ruby symbols; a real address has at least
        # three groups (or an embedded IPv4) and a digit somewhere.
        if len(groups) < 3 or not any(c.isdigit() for c in value):
            continue
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        if any(address in net for net in keep if net.version == 6):
            continue
        spans.append(Span(m.start(1), m.end(1), "IP_ADDRESS", 0.8))
    return spans


# -- IBAN ---------------------------------------------------------------------------------------------------------

# Country code, check digits, then up to 30 letters or digits, in groups separated by single spaces or dashes.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]{1,4}){3,8}(?![A-Za-z0-9])")
_IBAN_GROUP_END = re.compile(r"[A-Za-z0-9](?=[ \-]|$)")


def iban_spans(text: str) -> list[Span]:
    """IBANs in any letter case, spaced or not, validated by ``python-stdnum`` (country length and mod-97 checksum).

    >>> [text[s.start:s.end] for text in ["Konto de89 3704 0044 0532 0130 00 bitte"] for s in iban_spans(text)]
    ['de89 3704 0044 0532 0130 00']
    """
    from stdnum import iban

    spans = []
    for m in _IBAN.finditer(text):
        candidate = m.group()
        # The regex may run one group too far ("... 0130 00 2024"): try every group boundary, longest first.
        ends = [g.end() for g in _IBAN_GROUP_END.finditer(candidate)]
        for end in reversed(ends):
            if end < 15:
                break
            if iban.is_valid(candidate[:end]):
                spans.append(Span(m.start(), m.start() + end, "IBAN_CODE", 1.0))
                break
    return spans


# -- national identity numbers ----------------------------------------------------------------------------------

class _NationalId(NamedTuple):
    pattern: re.Pattern
    module: str  # python-stdnum module that validates the compact value
    context: re.Pattern | None  # required cue before the number (bare digit runs pass a checksum too often)


_NATIONAL_IDS = (
    # Brazil CPF, written 123.456.789-09.
    _NationalId(re.compile(r"(?<![\w.])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w])"), "stdnum.br.cpf", None),
    # Spain DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter).
    _NationalId(re.compile(r"(?<![\w-])(?:\d{8}|[XYZxyz]-?\d{7})-?[A-Za-z](?![\w])"), "stdnum.es.nif", None),
    # Italy codice fiscale.
    _NationalId(
        re.compile(r"(?<![\w])[A-Za-z]{6}\d{2}[A-Za-z]\d{2}[A-Za-z]\d{3}[A-Za-z](?![\w])"), "stdnum.it.codicefiscale",
        None,
    ),
    # India Aadhaar, 12 digits in groups of four (Verhoeff checksum); run together only after its name.
    _NationalId(re.compile(r"(?<![\w\-.])[2-9]\d{3}[ \-]\d{4}[ \-]\d{4}(?![\w\-]|\.\d)"), "stdnum.in_.aadhaar", None),
    _NationalId(
        re.compile(r"(?<![\w\-.])[2-9]\d{11}(?![\w\-]|\.\d)"), "stdnum.in_.aadhaar",
        re.compile(r"(?i)(?:\baadhaar|\bUID)\W{0,4}(?:no\.?|number|#)?\W{0,3}\Z"),
    ),
    # France NIR (social security number, 15 digits with a mod-97 key).
    _NationalId(
        re.compile(r"(?<![\w.])[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w])"),
        "stdnum.fr.nir", None,
    ),
    # Canada SIN (Luhn) and the Netherlands BSN (11-test): nine digits, so only after their name.
    _NationalId(
        re.compile(r"(?<![\w\-])\d{3}[ \-]?\d{3}[ \-]?\d{3}(?![\w\-])"), "stdnum.ca.sin",
        re.compile(r"(?i)(?:\bSIN|social insurance(?: number)?)\W{0,4}(?:no\.?|number|#)?\W{0,3}\Z"),
    ),
    _NationalId(
        re.compile(r"(?<![\w\-.])\d{4}\.?\d{2}\.?\d{3}(?![\w\-]|\.\d)|(?<![\w\-.])\d{9}(?![\w\-]|\.\d)"),
        "stdnum.nl.bsn",
        re.compile(r"(?i)(?:\bBSN|burgerservicenummer)\W{0,4}(?:nummer|nr\.?|number)?\W{0,3}\Z"),
    ),
)


def national_id_spans(text: str) -> list[Span]:
    """National identity numbers that carry a checksum (BR CPF, ES DNI/NIE, IT codice fiscale, IN Aadhaar, FR NIR;
    CA SIN and NL BSN after their name), validated with ``python-stdnum``.

    >>> [text[s.start:s.end] for text in ["CPF 390.533.447-05, DNI 12345678Z, SIN: 123 456 782"]
    ...  for s in national_id_spans(text)]
    ['390.533.447-05', '12345678Z', '123 456 782']
    """
    import importlib

    spans = []
    for national_id in _NATIONAL_IDS:
        validator = None
        for m in national_id.pattern.finditer(text):
            if national_id.context is not None and not national_id.context.search(
                text[max(0, m.start() - 40):m.start()]
            ):
                continue
            validator = validator or importlib.import_module(national_id.module)
            if validator.is_valid(m.group()):
                spans.append(Span(m.start(), m.end(), "NATIONAL_ID", 0.9))
    return spans


# -- secrets ------------------------------------------------------------------------------------------------------

_SECRET_PATTERNS: tuple[re.Pattern, ...] = (
    # PEM private-key blocks, whole (a truncated block is still replaced up to its end or the next blank line).
    # The body must hold base64 (a line of 40+ characters), not a "... (key here) ..." placeholder.
    re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----\s*(?:[A-Za-z0-9\-]+:[^\n]*\n\s*)*[A-Za-z0-9+/=]{40,}"
        r"[\s\S]*?(?:-----END [A-Z0-9 ]*-----|\n\s*\n|\Z)"
    ),
    # Well-known token formats: AWS access key ids, GitHub, GitLab, Slack, Stripe, Google API keys, OpenAI-style
    # keys, npm and PyPI tokens, JSON Web Tokens.
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b|\bgithub_pat_[A-Za-z0-9_]{60,255}\b"),
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b"),
    re.compile(r"\bxox[abposr]-(?:\d+-)+[A-Za-z0-9\-]{10,}\b"),
    re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),
    re.compile(r"\bAIza[A-Za-z0-9_\-]{35}\b"),
    re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{32,}\b"),
    re.compile(r"\bnpm_[A-Za-z0-9]{36}\b|\bpypi-[A-Za-z0-9_\-]{50,}\b"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\b"),
)
# What every secret match contains, as (literal, regex checked where the literal starts, or None), so candidates are
# found with ``str.find``; the key words of config lines are found case-insensitively.
_SECRET_TRIGGERS: tuple[tuple[str, re.Pattern | None], ...] = (
    ("-----BEGIN", re.compile(r"-----BEGIN[^\n]*PRIVATE KEY[\s\S]*?(?:-----END[^\n]*|\n\s*\n|\Z)")),
    *((prefix, re.compile(r"A[A-Z]{3}[A-Z0-9]{16}")) for prefix in
      ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA")),
    *((prefix, re.compile(r"\bgh")) for prefix in ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    ("github_pat_", None), ("glpat-", None), ("xox", re.compile(r"xox[abposr]-")), ("_live_", None),
    ("_test_", None), ("AIza", None), ("sk-", re.compile(r"\bsk-")), ("npm_", None), ("pypi-", None), ("eyJ", None),
    ("://", re.compile(r"://[^\s:/@]+:[^\s/@]+@")),
)
_SECRET_KEY_WORDS = (
    "passw", "passphrase", "pwd", "secret", "apikey", "api_key", "api-key", "accesskey", "access_key", "access-key",
    "token",
)
_SECRET_KEY_WORD = re.compile(r"(?i:passw|passphrase|pwd|secret|api[_\-]?key|access[_\-]?key|token)")


def secret_candidates(text: str) -> Iterator[tuple[int, int]]:
    """Spans that every match of :func:`secret_spans` contains one of (a token prefix, ``://user:pass@``, a
    private-key block, a secret key word), unsorted.

    >>> text = 'Token = "x"; see https://a:b@host and ghp_1 and high_'
    >>> sorted(secret_candidates(text))
    [(0, 5), (22, 29), (38, 42)]
    """
    for literal, check in _SECRET_TRIGGERS:
        for i in literal_positions(text, literal):
            if check is None:
                yield i, i + len(literal)
            else:
                m = check.match(text, i)
                if m:
                    yield i, max(m.end(), i + len(literal))
    fold = folded(text)
    if fold is None:
        yield from (m.span() for m in _SECRET_KEY_WORD.finditer(text))
        return
    for word in _SECRET_KEY_WORDS:
        for i in literal_positions(fold, word):
            yield i, i + len(word)


# Password in a URL: scheme://user:password@host; the password group is replaced.
_URL_PASSWORD = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:([^\s:/@]{3,})@[\w.\-\[\]]+")
# "password = 's3cr3t!'", "API_KEY: abcd...", "export AWS_SECRET_ACCESS_KEY=...", "token": "..."; the value is
# replaced. The key ends in a secret word; the value is quoted, or a bare word of 6+ non-space characters.
_CONFIG_SECRET = re.compile(
    r"(?i)\b[\w.\-]*(?:passw(?:or)?d|passphrase|pwd|secret|api[_\-]?key|access[_\-]?key|auth[_\-]?token|"
    r"access[_\-]?token|refresh[_\-]?token|private[_\-]?key|client[_\-]?secret|token)[\"']?\s*(?::=|=>|[:=])\s*"
    r"(?:\"([^\"\n]{4,})\"|'([^'\n]{4,})'|([^\s\"',;]{6,}))"
)
# Values that are clearly not secrets: placeholders, variables, code expressions.
_NOT_A_SECRET = re.compile(
    r"(?i)^(?:none|null|nil|true|false|\*+|x+|\.+|<[^>]*>|\$\{?\w+\}?|%\(?\w+\)?s?|\{\{?[^}]*\}\}?|"
    r"(?:your|my|the|some|example|dummy|fake|changeme|placeholder|secret|password|passwd|pass|token|xxx)[\w\-]*|"
    r"[\w.]+\(.*|[\w.]+\[.*|getpass.*|os\.environ.*|input\(.*|self\.\w+|\w+\.\w+)$"
)


def secret_spans(text: str) -> list[Span]:
    """API keys, tokens, private-key blocks, passwords in URLs and secret values in config or code lines.

    >>> text = ('db = "postgres://app:hunter2x@db.internal/app"\\nAPI_KEY = "9f8e7d6c5b4a39281706"\\n'
    ...         'password = getpass()')
    >>> [text[s.start:s.end] for s in secret_spans(text)]
    ['hunter2x', '9f8e7d6c5b4a39281706']
    """
    spans = []
    for pattern in _SECRET_PATTERNS:
        spans.extend(Span(m.start(), m.end(), "SECRET", 1.0) for m in pattern.finditer(text))
    for m in _URL_PASSWORD.finditer(text):
        if not _NOT_A_SECRET.match(m.group(1)):
            spans.append(Span(m.start(1), m.end(1), "SECRET", 0.9))
    for m in _CONFIG_SECRET.finditer(text):
        group = next(g for g in (1, 2, 3) if m.group(g) is not None)
        value = m.group(group)
        if _NOT_A_SECRET.match(value) or (group == 3 and not any(c.isdigit() for c in value)):
            # A bare word without a digit ("password: required") is prose, not a password.
            continue
        spans.append(Span(m.start(group), m.end(group), "SECRET", 0.7))
    return spans


# -- street addresses -----------------------------------------------------------------------------------------------

ADDRESS_COUNTRIES = ("US", "GB", "CA")
_STREET_TYPES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|way|terrace|ter|circle|cir|"
    "parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent|cres|close|gardens|gdns|grove|mews|row|walk|hill|park|"
    "plaza|plz|alley|aly|expressway|freeway|turnpike|pike|route|rte|crossing|xing|loop|run|path|pass|ridge|"
    "view|views|mission|center|centre|mall|estate|green|fields?|light|lights|plains?|ports?|shoals?|springs?|"
    "station|stream|summit|tunnel|union|valley|villages?|ville|vista|wells?|junction|jct|radial|burgs?|rue|"
    "extension|ext|bypass|causeway|cove|creek|dale|falls|ferry|ford|forest|harbor|harbour|heights|hts|island|"
    "isle|knoll|lake|landing|manor|meadows?|mills?|mount|mountain|orchard|oval|point|pt|port|ranch|rapids|rest|"
    "river|shore|shores|spur|track|trace|underpass|branch|brook|bridge|bluff|bottom|bend|canyon|cape|cliff|club|"
    "common|corner|curve|divide|drives|flat|flats|fort|gateway|glen|haven|inlet|keys?|lodge|mall|neck|pines|"
    "prairie|ramp|ridges|skyway|squares|streets|stravenue|throughway|trafficway|walks|wall|ways|dam|viaduct|"
    "motorway|wharf|quay|embankment|arcade|broadway|fork|forge|garden|greens|harbors|hollow|inlet|junctions|"
    "lakes|lane|locks|loaf|overpass|parks|parkways|passage|pines|plain|radial|roads|route|shoal|spring|squares|"
    "stream|summit|terrace|trail|tunnel|turnpike|unions|villa|vista|walk|well|coves|fords|groves|drives"
)
_UNIT_WORDS = ("flat", "apt", "apartment", "unit", "suite", "studio")


def word_alternation(words: Iterable[str]) -> str:
    """A regex matching exactly ``words``, written as a prefix tree ("a(?:lley|ly|ve(?:nue)?)"): ``re`` tries the
    branches of a flat alternation one by one, so 200 street types cost 200 tries at every position.

    >>> word_alternation(["ave", "avenue", "aly"])
    'a(?:ly|ve(?:nue)?)'
    """
    tree: dict = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        if "" in node:
            return f"(?:{body})?" if len(branches) == 1 and len(body) > 1 else f"{body}?"
        return body

    return emit(tree)


def _street_type_words() -> list[str]:
    words = []
    for word in _STREET_TYPES.split("|"):
        words += [word[:-2], word[:-2] + "s"] if word.endswith("s?") else [word]
    return sorted(set(words))


_STREET_TYPE = word_alternation(_street_type_words())
_AFTER_HOUSE_NUMBER = rf",?(?:\s+[\w.'\-]+){{1,5}}?\s+(?i:{_STREET_TYPE})s?\b"
# A house number or a flat/unit word, then a street-type word within a few words: the only places pyap can match
# (its grammars need both). The digit form starts with ``\d`` so ``re`` skips ahead to digits; the unit words are
# found with ``str.find`` and checked with the unit form at each one.
_ADDRESS_AFTER_NUMBER = re.compile(rf"\d(?<!\w\d)\d{{0,5}}[A-Za-z]?(?:-\d{{1,4}})?{_AFTER_HOUSE_NUMBER}")
_ADDRESS_AFTER_UNIT = re.compile(rf"(?i)\b(?:{'|'.join(_UNIT_WORDS)})\.?\s+\w+{_AFTER_HOUSE_NUMBER}")


def address_candidates(text: str) -> Iterator[tuple[int, int]]:
    """Spans where a street address may start (a necessary condition for :func:`address_spans`), unsorted.

    >>> text = "Flat 3 Elm Court, and 12 Main Street; 12 apples."
    >>> sorted(address_candidates(text))
    [(0, 16), (5, 16), (22, 36)]
    """
    for m in _ADDRESS_AFTER_NUMBER.finditer(text):
        yield m.span()
    fold = folded(text)
    if fold is None:
        yield from (m.span() for m in _ADDRESS_AFTER_UNIT.finditer(text))
        return
    for word in ("flat", "apt", "apa", "unit", "suite", "studio"):  # "apa": apartment ("apt" is not its prefix)
        for i in literal_positions(fold, word):
            m = _ADDRESS_AFTER_UNIT.match(text, i)
            if m:
                yield m.span()


_UNIT_START = re.compile(r"(?i)^(?:flat|apt|apartment|unit|suite|studio)\b")
# After the house number: a capitalised name, an ordinal ("5th Avenue") or a compass point ("N Main St").
_STREET_NAME_START = re.compile(r"^[\dA-Za-z\-/]*,?\s+(?:[A-Z][a-z]|\d+(?:st|nd|rd|th)\b|[NSEW]\.?\s|[NS][EW]\s)")


# A second, stricter grammar for what pyap's lists miss (plural USPS suffixes such as "Groves", "Parkways", a unit
# after an unusual suffix): number, capitalised street name, street type, optional unit, then city, optional region
# and a US ZIP, Canadian or UK postcode; the postcode at the end keeps it precise in prose.
_POSTCODE = r"(?:\d{5}(?:-\d{4})?|[A-Z]\d[A-Z] ?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})"
ADDRESS_WITH_POSTCODE = re.compile(
    rf"(?<![\w\-])\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})? (?:[NSEW]\.? )?(?:[A-Z][a-z'\-]+ ){{1,4}}"
    rf"(?i:{_STREET_TYPES})s?\.?(?: [NSEW]{{1,2}})?(?:,? (?:Apt|Suite|Ste|Unit|Flat|#)\.? ?[\w\-]+)?,"
    rf" (?:[A-Z][a-z'\-]+ ){{0,3}}[A-Z][a-z'\-]+,? (?:[A-Z]{{2}},? )?{_POSTCODE}(?![\w\-])"
)


# Characters after a candidate's street type that an address may still take (unit, city, region, postcode).
_ADDRESS_TAIL = 200


def _address_pieces(text: str) -> list[tuple[int, int]]:
    """Merged stretches from one character before each address candidate to ``_ADDRESS_TAIL`` after it, where pyap
    runs: its grammars are large regexes whose cost grows with the text, and an address that is kept starts with a
    house number or unit word followed within five words by a street type, which is what a candidate is (a street
    name of six or more words is only seen when another candidate precedes it closely)."""
    pieces: list[tuple[int, int]] = []
    for start, end in sorted(address_candidates(text)):
        start, end = max(0, start - 1), min(len(text), end + _ADDRESS_TAIL)
        if pieces and start <= pieces[-1][1]:
            pieces[-1] = (pieces[-1][0], max(pieces[-1][1], end))
        else:
            pieces.append((start, end))
    return pieces


@functools.cache
def _pyap_grammar(country: str) -> re.Pattern:
    """pyap's address grammar of ``country`` (its ``pyap.source_<country>.data.full_address``), compiled once.

    ``pyap.parse`` builds a parser and hands the grammar to ``re`` as a string on every call, to be looked up in
    ``re``'s cache of 512 patterns, which phonenumbers shares with hundreds of metadata patterns; compiling a grammar
    again costs milliseconds. Matching the same normalized text with the same grammar finds the same addresses."""
    import pyap.utils

    data = importlib.import_module(f"pyap.source_{country.upper()}.data")
    return re.compile(data.full_address, pyap.utils.DEFAULT_FLAGS)


_PYAP_DASHES = str.maketrans({dash: "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2015"})


_PYAP_NEWLINES = re.compile(r"\r*(\n\r*)+")
_PYAP_COMMAS = re.compile(r"\s*(\,\s*)+")
_PYAP_SPACES = re.compile(r"\s+")


def _pyap_normalize(text: str) -> str:
    """The text as ``pyap.parse`` matches it: line breaks and comma runs as ", ", other whitespace runs as one space,
    every dash as "-" (pyap's ``AddressParser._normalize_string``, in the same order)."""
    text = _PYAP_COMMAS.sub(", ", _PYAP_NEWLINES.sub(", ", text))
    return _PYAP_SPACES.sub(" ", text).translate(_PYAP_DASHES)


def address_spans(text: str, countries: Sequence[str] = ADDRESS_COUNTRIES) -> list[Span]:
    """Street addresses found by ``pyap`` (US, GB and CA grammars) near a house number and a street-type word.

    pyap also accepts spelled-out house numbers ("one River and ..."), which turn up in prose; an address here must
    start with a digit or a flat/unit word.

    >>> text = "He lives at 1777 Kramer Court, Johnsonfurt, NE 80119 since May; the court adjourned."
    >>> [text[s.start:s.end] for s in address_spans(text)]
    ['1777 Kramer Court, Johnsonfurt, NE 80119']
    """
    pieces = _address_pieces(text)
    if not pieces:
        return []
    spans: list[Span] = []
    values = set()
    for country in countries:
        grammar = _pyap_grammar(country)
        for start, end in pieces:
            for m in grammar.finditer(_pyap_normalize(text[start:end])):
                value = (m.group("full_address") or "").strip(" ,;:")
                if value:
                    values.add(value)
    for value in values:
        if not (value[:1].isdigit() and _STREET_NAME_START.match(value) or _UNIT_START.match(value)):
            continue
        for m in re.finditer(re.escape(value), text):
            spans.append(Span(m.start(), m.end(), "STREET_ADDRESS", 0.7))
    spans.extend(Span(m.start(), m.end(), "STREET_ADDRESS", 0.7) for m in ADDRESS_WITH_POSTCODE.finditer(text))
    return resolve(spans)


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans: the longest first, then the higher score, then the earlier."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start - s.end, -s.score, s.start)):
        if all(span.end <= k.start or k.end <= span.start for k in kept):
            kept.append(span)
    return sorted(kept)
