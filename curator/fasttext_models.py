"""fastText, imported quietly: its Python wrapper prints a deprecation banner on every ``load_model`` (and on
training), which would repeat once per Spark worker. Imported lazily so validating a spec never loads fastText."""

from __future__ import annotations

from pathlib import Path


def quiet_fasttext():
    """The ``fasttext`` module with its stderr banner switched off."""
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext


def load_fasttext_model(path: str | Path):
    return quiet_fasttext().load_model(str(path))


__all__ = ["load_fasttext_model", "quiet_fasttext"]
