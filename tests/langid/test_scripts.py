"""curator.langid.scripts: the C-level script share equals a per-character count."""

from __future__ import annotations

import random

import pytest

from curator.langid.scripts import CJK_WEIGHT, char_script, script_share, scripts_of


def share_by_characters(label: str, text: str, limit: int) -> float:
    """The definition, one character at a time (characters beyond the table's plane count as letters of no
    listed script, as the translation leaves them in place)."""
    scripts = scripts_of(label)
    matched = total = 0
    for char in text[:limit]:
        if ord(char) > 0xFFFF:
            total += 1
            continue
        if 0xD800 <= ord(char) < 0xE000:
            continue
        script = char_script(char)
        if script is None:
            continue
        weight = CJK_WEIGHT if script in ("Hani", "Hira", "Kana", "Hang") else 1
        total += weight
        matched += weight if script in scripts else 0
    return matched / total if total else 1.0


PIECES = ["plain ascii words ", "naïve café déjà vu ", "Ёжик в тумане ", "日本語のテキスト ", "한국어 문장 ",
          "中文句子 ", "ελληνικά ", "العربية ", "हिन्दी ", "12:30 -- $5 ", "\u00a0\u3000", "𝔘𝔫𝔦 ", "\ud800",
          "ŁÓDŹ ", "\n\n"]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("label", ["en", "ru", "ja", "zh", "ko", "sr", "el", "ar", "hi", "eng_Latn"])
def test_share_equals_a_per_character_count(seed, label):
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 30)))
    limit = rng.choice([5, 50, 2_000])
    assert script_share(label, text, limit) == pytest.approx(share_by_characters(label, text, limit))


def test_text_without_letters_shares_fully():
    assert script_share("ru", "12:30 — 5 €") == 1.0
    assert script_share("en", "") == 1.0
