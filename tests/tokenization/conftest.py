"""Small trained tokenizers shared by the tokenization tests (trained once per session, in seconds)."""

from __future__ import annotations

import pytest

from curator.tokenization.recipe import load_recipe


@pytest.fixture(scope="session")
def moby_texts():
    """The embedded sample's Moby-Dick chapters as 140 documents of consecutive paragraphs (~4k characters each)."""
    from tests.conftest import sample_texts

    paragraphs = [p for chapter in sample_texts("moby-") for p in chapter.split("\n\n") if p.strip()]
    step = len(paragraphs) / 140
    return ["\n\n".join(paragraphs[round(i * step):round((i + 1) * step)]) for i in range(140)]

@pytest.fixture(scope="session")
def trained_bundles(moby_texts):
    """algorithm -> TokenizerBundle, trained on the first chapters of Moby-Dick with a 1000-piece vocabulary."""
    from curator.tokenization.train import train_from_texts

    recipes = {"bpe": "bpe_demo", "unigram": "unigram_32k", "wordpiece": "wordpiece_32k"}
    return {
        algorithm: train_from_texts(moby_texts[:60], load_recipe(name).model_copy(update={"vocab_size": 1000}))
        for algorithm, name in recipes.items()
    }

@pytest.fixture(scope="session")
def bpe_artifact(trained_bundles, tmp_path_factory):
    from curator.tokenization.train import write_artifact

    return write_artifact(trained_bundles["bpe"], tmp_path_factory.mktemp("artifact") / "bpe")
