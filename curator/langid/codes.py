"""Language codes: what users write in ``languages:`` mapped onto what the detectors can emit.

A detector emits a fixed label set (lid.176: 176 mostly ISO 639-1 codes; CLD2: its own; GlotLID-style models:
``eng_Latn``). Users write ISO 639-1, ISO 639-3, deprecated codes (``iw``, ``in``, ``jw``), locale tags (``zh-CN``,
``pt_BR``) or script-tagged labels (``sr_Latn``). :func:`resolve_languages` maps each to the labels it stands for and
rejects a code no label can match, so a typo is a spec error instead of a silent 100% drop.
"""

from __future__ import annotations

import re


# ISO 639-3 code of each lid.176 label (labels that already are 639-3 codes map to themselves and are omitted).
ISO639_3 = {
    "af": "afr", "am": "amh", "an": "arg", "ar": "ara", "as": "asm", "av": "ava", "az": "aze", "ba": "bak",
    "be": "bel", "bg": "bul", "bh": "bih", "bn": "ben", "bo": "bod", "br": "bre", "bs": "bos", "ca": "cat",
    "ce": "che", "co": "cos", "cs": "ces", "cv": "chv", "cy": "cym", "da": "dan", "de": "deu", "dv": "div",
    "el": "ell", "en": "eng", "eo": "epo", "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin",
    "fr": "fra", "fy": "fry", "ga": "gle", "gd": "gla", "gl": "glg", "gn": "grn", "gu": "guj", "gv": "glv",
    "he": "heb", "hi": "hin", "hr": "hrv", "ht": "hat", "hu": "hun", "hy": "hye", "ia": "ina", "id": "ind",
    "ie": "ile", "io": "ido", "is": "isl", "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz",
    "km": "khm", "kn": "kan", "ko": "kor", "ku": "kur", "kv": "kom", "kw": "cor", "ky": "kir", "la": "lat",
    "lb": "ltz", "li": "lim", "lo": "lao", "lt": "lit", "lv": "lav", "mg": "mlg", "mk": "mkd", "ml": "mal",
    "mn": "mon", "mr": "mar", "ms": "msa", "mt": "mlt", "my": "mya", "ne": "nep", "nl": "nld", "nn": "nno",
    "no": "nor", "oc": "oci", "or": "ori", "os": "oss", "pa": "pan", "pl": "pol", "ps": "pus", "pt": "por",
    "qu": "que", "rm": "roh", "ro": "ron", "ru": "rus", "sa": "san", "sc": "srd", "sd": "snd", "sh": "hbs",
    "si": "sin", "sk": "slk", "sl": "slv", "so": "som", "sq": "sqi", "sr": "srp", "su": "sun", "sv": "swe",
    "sw": "swa", "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "tk": "tuk", "tl": "tgl", "tr": "tur",
    "tt": "tat", "ug": "uig", "uk": "ukr", "ur": "urd", "uz": "uzb", "vi": "vie", "vo": "vol", "wa": "wln",
    "yi": "yid", "yo": "yor", "zh": "zho",
    # languages CLD2 adds to lid.176's set
    "lg": "lug", "mi": "mri", "sn": "sna", "st": "sot", "tn": "tsn", "ts": "tso", "xh": "xho", "zu": "zul",
}
# Other names for the same label: bibliographic 639-2 codes, individual languages of a macrolanguage that the model
# only knows as the macrolanguage, deprecated 639-1 codes, and the Norwegian split.
ALIASES = {
    "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro",
    "nb": "no", "nob": "no", "nno": "nn",
    "ger": "de", "fre": "fr", "dut": "nl", "chi": "zh", "cze": "cs", "gre": "el", "per": "fa", "alb": "sq",
    "arm": "hy", "baq": "eu", "bur": "my", "geo": "ka", "ice": "is", "mac": "mk", "may": "ms", "rum": "ro",
    "slo": "sk", "tib": "bo", "wel": "cy",
    "cmn": "zh", "zsm": "ms", "arb": "ar", "pes": "fa", "prs": "fa", "swh": "sw", "ekk": "et", "lvs": "lv",
    "khk": "mn", "npi": "ne", "uzn": "uz", "azj": "az", "plt": "mg", "gug": "gn", "quy": "qu", "ydd": "yi",
    "fil": "tl",
}
# Locale tags whose region only names a script or variety the model does not separate.
_REGIONAL = {"zh-cn", "zh-tw", "zh-hk", "zh-sg", "zh-hans", "zh-hant"}
_TAG = re.compile(r"^([a-z]{2,3})(?:[-_]([a-z]{4}))?(?:[-_]([a-z]{2}|\d{3}))?$")


class UnknownLanguageCode(ValueError):
    """A code in ``languages:`` that the configured detectors can never emit."""


def base_code(label: str) -> str:
    """``sr_Latn`` -> ``sr``; ``eng_Latn`` -> ``eng``; ``en`` -> ``en``."""
    return label.split("_", 1)[0]


def script_of_label(label: str) -> str | None:
    """``sr_Latn`` -> ``Latn``; a bare code has no script."""
    parts = label.split("_", 1)
    return parts[1] if len(parts) == 2 else None


def _canonical_candidates(code: str) -> tuple[list[str], str | None]:
    """Possible base codes for a user code, and the script it names (if any)."""
    raw = code.strip().lower()
    if raw in _REGIONAL:
        return ["zh", "zho"], None
    match = _TAG.match(raw)
    if not match:
        return [], None
    base, script, _region = match.groups()
    script = script.title() if script else None
    if base in ("zh", "zho", "chi", "cmn") and script in ("Hans", "Hant"):
        script = None  # the models do not separate simplified from traditional Chinese
    candidates = [base]
    if base in ALIASES:
        candidates.append(ALIASES[base])
    for one, three in ISO639_3.items():
        if base == three:
            candidates.append(one)
    if base in ISO639_3:
        candidates.append(ISO639_3[base])
    for c in list(candidates):
        if c in ALIASES:
            candidates.append(ALIASES[c])
    return list(dict.fromkeys(candidates)), script


def resolve_language(code: str, labels: set[str], scripted: dict[str, tuple[str, ...]] | None = None) -> set[str]:
    """The output labels one user code stands for. ``labels`` are the detectors' labels; ``scripted`` lists the
    script variants the stage appends to some labels (``sr`` -> ``sr_Cyrl``, ``sr_Latn``).

    Raises :class:`UnknownLanguageCode` when no label matches."""
    scripted = scripted or {}
    candidates, script = _canonical_candidates(code)
    found: set[str] = set()
    for cand in candidates:
        if cand in labels:
            if script is None:
                found.add(cand)
                found.update(f"{cand}_{s}" for s in scripted.get(cand, ()))
            elif script in scripted.get(cand, ()):
                found.add(f"{cand}_{script}")
        # models whose labels carry scripts themselves (GlotLID, OpenLID: eng_Latn)
        for label in labels:
            if base_code(label) == cand and script_of_label(label) and script in (None, script_of_label(label)):
                found.add(label)
    if not found:
        raise UnknownLanguageCode(
            f"language code {code!r} is not one the language detector can produce"
            + (f" (tried {', '.join(candidates)})" if candidates else " (not an ISO 639 code)")
        )
    return found
