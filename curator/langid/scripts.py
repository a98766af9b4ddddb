"""Unicode scripts: the dominant script of a text (ISO 15924) and the scripts each language is written in.

The script of a letter comes from its Unicode character name (``TAI THAM LETTER HIGH KA`` -> ``Lana``); that needs
no extra library and covers every script the detectors care about. A text's dominant script is the script of most
of its letters (digits, punctuation and symbols have none).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter


# Leading words of Unicode character names -> ISO 15924 code.
_NAME_TO_SCRIPT = {
    "LATIN": "Latn", "CYRILLIC": "Cyrl", "GREEK": "Grek", "ARMENIAN": "Armn", "GEORGIAN": "Geor",
    "HEBREW": "Hebr", "ARABIC": "Arab", "SYRIAC": "Syrc", "THAANA": "Thaa", "NKO": "Nkoo",
    "DEVANAGARI": "Deva", "BENGALI": "Beng", "GURMUKHI": "Guru", "GUJARATI": "Gujr", "ORIYA": "Orya",
    "TAMIL": "Taml", "TELUGU": "Telu", "KANNADA": "Knda", "MALAYALAM": "Mlym", "SINHALA": "Sinh",
    "THAI": "Thai", "LAO": "Laoo", "TIBETAN": "Tibt", "MYANMAR": "Mymr", "KHMER": "Khmr", "TAI THAM": "Lana",
    "TAI LE": "Tale", "NEW TAI LUE": "Talu", "TAI VIET": "Tavt", "BALINESE": "Bali", "JAVANESE": "Java",
    "SUNDANESE": "Sund", "BUGINESE": "Bugi", "BATAK": "Batk", "CHAM": "Cham", "ETHIOPIC": "Ethi",
    "CHEROKEE": "Cher", "CANADIAN SYLLABICS": "Cans", "OGHAM": "Ogam", "RUNIC": "Runr", "MONGOLIAN": "Mong",
    "TIFINAGH": "Tfng", "VAI": "Vaii", "HANGUL": "Hang", "HIRAGANA": "Hira", "KATAKANA": "Kana",
    "HALFWIDTH KATAKANA": "Kana", "KATAKANA-HIRAGANA": "Kana", "CJK": "Hani", "BOPOMOFO": "Bopo", "YI": "Yiii",
    "OL CHIKI": "Olck", "MEETEI MAYEK": "Mtei", "LIMBU": "Limb", "LEPCHA": "Lepc", "SAURASHTRA": "Saur",
    "GLAGOLITIC": "Glag", "COPTIC": "Copt", "GOTHIC": "Goth", "SAMARITAN": "Samr", "MANDAIC": "Mand",
    "FULLWIDTH LATIN": "Latn", "MODIFIER LETTER": None, "KANGXI": "Hani",
}
_NAME_PREFIX = re.compile(r"^(.*?) (?:CAPITAL |SMALL )?(?:LETTER|SYLLABLE|IDEOGRAPH|CHARACTER|LIGATURE|VOWEL|"
                          r"CONSONANT|SIGN|RADICAL|DIGRAPH|ITERATION|VOICED|PROLONGED|ARCHAIC|FINAL|MEDIAL|"
                          r"INITIAL|ISOLATED|COMPATIBILITY)")
_CACHE: dict[str, str | None] = {}


def char_script(char: str) -> str | None:
    """ISO 15924 code of a letter, or None for non-letters and letters of unnamed scripts."""
    if char in _CACHE:
        return _CACHE[char]
    script = None
    if char.isalpha():
        name = unicodedata.name(char, "")
        match = _NAME_PREFIX.match(name)
        prefix = match.group(1) if match else name.split(" ", 1)[0]
        for words in (prefix, " ".join(prefix.split()[:2]), prefix.split(" ", 1)[0]):
            if words in _NAME_TO_SCRIPT:
                script = _NAME_TO_SCRIPT[words]
                break
        else:
            script = "Zzzz"  # a letter of a script this table does not name: still not the predicted language's
    _CACHE[char] = script
    return script


_SYMBOLS: dict[str, str] = {}  # script code -> one private-use character standing for it in translated text
_SYMBOL_SCRIPTS: dict[str, str] = {}  # the reverse
_TABLE: dict[int, str | None] | None = None
_ASCII_NON_LETTERS = {i: None for i in range(128) if not chr(i).isalpha()}


def _translation_table() -> dict[int, str | None]:
    """Every BMP code point -> its script's private-use symbol, or None (deleted) for non-letters. Built once per
    process (~0.1 s) so that counting scripts runs in C (``str.translate`` + ``Counter``), not a Python loop."""
    global _TABLE
    if _TABLE is None:
        table: dict[int, str | None] = {}
        for point in range(0x10000):
            script = char_script(chr(point)) if not 0xD800 <= point < 0xE000 else None
            if script is not None and script not in _SYMBOLS:
                _SYMBOLS[script] = chr(0xF0000 + len(_SYMBOLS))  # plane 15 private use: never in the table's keys
            table[point] = _SYMBOLS[script] if script is not None else None
        _SYMBOL_SCRIPTS.update({symbol: script for script, symbol in _SYMBOLS.items()})
        _TABLE = table
    return _TABLE


def script_counts(text: str, limit: int = 2_000) -> Counter[str]:
    """Letters per script among the first ``limit`` characters (Han folded into Japanese/Korean when kana/Hangul
    are present, since those languages mix them)."""
    sample = text[:limit]
    if sample.isascii():
        letters = len(sample.translate(_ASCII_NON_LETTERS))
        return Counter({"Latn": letters}) if letters else Counter()
    by_symbol = Counter(sample.translate(_translation_table()))
    counts: Counter[str] = Counter()
    for symbol, n in by_symbol.items():
        script = _SYMBOL_SCRIPTS.get(symbol) or char_script(symbol)  # characters beyond the BMP are looked up directly
        if script:
            counts[script] += n
    if counts.get("Hani") and (counts.get("Hira") or counts.get("Kana")):
        counts["Jpan"] = counts.pop("Hani") + counts.pop("Hira", 0) + counts.pop("Kana", 0)
    elif counts.get("Hani") and counts.get("Hang"):
        counts["Kore"] = counts.pop("Hani") + counts.pop("Hang")
    return counts


def dominant_script(text: str, limit: int = 2_000) -> str | None:
    """The script of most letters among the first ``limit`` characters, or None when there is no letter."""
    counts = script_counts(text, limit)
    return counts.most_common(1)[0][0] if counts else None


_CYRL = ("Cyrl",)
_ARAB = ("Arab",)
_DEVA = ("Deva",)
# Scripts each label is written in. Labels absent here are written in Latin script. Checked against the lingua test
# sentences by tests/langid (every language's sentences have a dominant script listed here).
LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("ru", "uk", "be", "bg", "mk", "kk", "ky", "tg", "tt", "ba", "cv", "ce", "av", "os", "sah",
                     "krc", "lez", "kv", "mhr", "mrj", "myv", "xal", "bxr", "tyv", "rue"), _CYRL),
    **dict.fromkeys(("ar", "arz", "fa", "ur", "ps", "ckb", "azb", "mzn", "lrc", "pnb", "ug"), _ARAB),
    **dict.fromkeys(("hi", "mr", "ne", "sa", "mai", "bh", "new", "dty"), _DEVA),
    "sr": ("Cyrl", "Latn"), "sh": ("Latn", "Cyrl"), "bs": ("Latn", "Cyrl"), "mn": ("Cyrl", "Mong"),
    "uz": ("Latn", "Cyrl"), "az": ("Latn", "Cyrl", "Arab"), "ku": ("Latn", "Arab"), "ms": ("Latn", "Arab"),
    "pa": ("Guru", "Arab"), "sd": ("Arab", "Deva"), "gom": ("Deva", "Latn"), "tk": ("Latn", "Cyrl"),
    "he": ("Hebr",), "yi": ("Hebr",), "el": ("Grek",), "hy": ("Armn",), "ka": ("Geor",), "xmf": ("Geor",),
    "bn": ("Beng",), "as": ("Beng",), "bpy": ("Beng",), "gu": ("Gujr",), "or": ("Orya",), "ta": ("Taml",),
    "te": ("Telu",), "kn": ("Knda",), "ml": ("Mlym",), "si": ("Sinh",), "th": ("Thai",), "lo": ("Laoo",),
    "km": ("Khmr",), "my": ("Mymr",), "bo": ("Tibt",), "dv": ("Thaa",), "am": ("Ethi",),
    "ja": ("Jpan", "Hira", "Kana", "Hani"), "ko": ("Kore", "Hang", "Hani"), "zh": ("Hani",), "yue": ("Hani",),
    "wuu": ("Hani",),
}
# Labels whose script is part of the output label (``sr_Cyrl``/``sr_Latn``): languages commonly written in two.
SCRIPT_TAGGED = ("sr", "sh", "bs", "uz", "az", "ku", "ms", "pa", "mn", "tk", "sd", "gom")


def scripts_of(label: str) -> tuple[str, ...]:
    """Scripts a label is written in; ``Latn`` for labels without an entry (and models with unknown labels)."""
    if "_" in label:  # a model that already tags labels with their script (eng_Latn)
        return (label.split("_", 1)[1],)
    return LANGUAGE_SCRIPTS.get(label, ("Latn",))


# A Han character, kana or Hangul syllable carries about as much text as a short word, not one letter: weighted so
# that a Chinese paragraph quoting shell commands is still Chinese.
CJK_WEIGHT = 3
_CJK_SCRIPTS = ("Hani", "Hira", "Kana", "Hang")


_SCRIPT_INDEX = None  # numpy uint8 per BMP code point: the position of its script in _SCRIPT_POSITION, 0: none
_SCRIPT_POSITION: dict[str, int] = {}  # script code -> its position (from 1) in the counts of script_share
_POSITION_WEIGHTS = None  # numpy int64 per position: the letters one character counts as (CJK_WEIGHT for CJK)


def _script_index():
    """The script table as a numpy array, for counting a text's scripts with one lookup and one bincount."""
    global _SCRIPT_INDEX, _POSITION_WEIGHTS
    if _SCRIPT_INDEX is None:
        import numpy as np

        table = _translation_table()
        names = sorted(set(_SYMBOL_SCRIPTS.values()))
        _SCRIPT_POSITION.update({script: i + 1 for i, script in enumerate(names)})
        _POSITION_WEIGHTS = np.array([0] + [CJK_WEIGHT if name in _CJK_SCRIPTS else 1 for name in names], np.int64)
        index = np.zeros(0x10000, np.uint8)  # U+FFFF, where characters beyond the BMP are clipped to, is not a letter
        for point, symbol in table.items():
            if symbol is not None:
                index[point] = _SCRIPT_POSITION[_SYMBOL_SCRIPTS[symbol]]
        _SCRIPT_INDEX = index
    return _SCRIPT_INDEX


def script_share(label: str, text: str, limit: int = 2_000) -> float:
    """Share of the letters among the first ``limit`` characters written in one of ``label``'s scripts (1.0 for a
    text without letters; CJK characters weigh ``CJK_WEIGHT`` letters; a character beyond the BMP counts as a letter
    of none of the label's scripts). Only C-level passes: the code points as a numpy array, a table lookup and a
    bincount."""
    import numpy as np

    sample = text[:limit]
    scripts = scripts_of(label)
    if sample.isascii():
        return 1.0 if "Latn" in scripts or not sample.translate(_ASCII_NON_LETTERS) else 0.0
    index = _script_index()
    points = np.frombuffer(sample.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    beyond_bmp = int(np.count_nonzero(points > 0xFFFF))
    weighted = np.bincount(index[np.minimum(points, 0xFFFF)], minlength=len(_POSITION_WEIGHTS)) * _POSITION_WEIGHTS
    total = beyond_bmp + int(weighted.sum())
    if not total:
        return 1.0
    matched = sum(int(weighted[_SCRIPT_POSITION[name]]) for name in scripts if name in _SCRIPT_POSITION)
    return matched / total


# Jawi (Arabic-script Malay) letters that Arabic, Persian, Urdu, Pashto, Kurdish, Sindhi and Uyghur do not use
# (nga, va, ga, nya); pa (U+06A4) is shared with Kurdish, so it only counts alongside one of them. lid.176 and CLD2
# have no Jawi label and call such text Arabic or Persian.
_JAWI_ONLY = "\u06a0\u06cf\u0762\u06bd"
_JAWI_PA = "\u06a4"


def looks_like_jawi(text: str, limit: int = 2_000) -> bool:
    sample = text[:limit]
    distinctive = sum(sample.count(c) for c in _JAWI_ONLY)
    return distinctive >= 1 and distinctive + sample.count(_JAWI_PA) >= 2
