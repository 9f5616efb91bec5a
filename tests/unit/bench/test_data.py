"""Benchmark texts: a French share spread evenly through the English ones."""

import pytest

from bench.data import mixed


@pytest.mark.parametrize(("share", "french"), [(0.5, 5), (0.25, 2), (0.0, 0), (1.0, 10)])
def test_a_french_share_is_spread_evenly_and_keeps_the_length(share: float, french: int) -> None:
    english = [f"en{n}" for n in range(10)]
    texts, langs = mixed(english, ["fr-a", "fr-b"], share)
    assert len(texts) == len(langs) == 10
    assert langs.count("fr") == french
    assert [text.startswith("fr") for text in texts] == [lang == "fr" for lang in langs]
    if share == 0.5:
        assert langs[:4] == ["en", "fr", "en", "fr"]
