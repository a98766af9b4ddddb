"""Small trained tokenizers shared by the tokenization tests (trained once per session, in seconds)."""

from __future__ import annotations

import json

import pytest

from curator.tokenization.recipe import load_recipe


@pytest.fixture(scope="session")
def moby_texts():
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.exists():
        pytest.skip("../shared/data is not available")
    return [json.loads(line)["text"] for line in open(SHARED_DATA / "stdlib-moby-dick" / "moby_dick.jsonl")]

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
