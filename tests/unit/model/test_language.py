import pytest

from model.language import LanguageDetector, claimed_language, metric_language, told_by_words


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(served={"en", "fr"})


@pytest.mark.parametrize(
    ("claimed", "code"),
    [
        ("fr", "fr"),
        ("FR", "fr"),
        ("fr-FR", "fr"),
        (" en_GB ", "en"),
        ("und", None),  # Twitter: undetermined
        ("qme", None),  # Twitter: media only
        ("zxx", None),
        ("", None),
        ("french", None),
        (None, None),
    ],
)
def test_a_producers_lang_counts_only_when_it_is_a_language_code(
    claimed: str | None, code: str | None
) -> None:
    assert claimed_language(claimed) == code


def test_a_valid_producer_lang_is_believed_without_detection(detector: LanguageDetector) -> None:
    texts = ["My flight is late again", "Mon vol est encore en retard"]

    assert detector.resolve(texts, ["fr-FR", "EN"]) == ["fr", "en"]


def test_a_missing_or_invalid_producer_lang_is_detected(detector: LanguageDetector) -> None:
    texts = [
        "Mon vol est encore en retard, merci Air Paradis",
        "My flight is delayed again, thanks Air Paradis",
        "Mi vuelo llega tarde otra vez, gracias Air Paradis",
        "Mein Flug hat schon wieder Verspätung",
    ]

    assert detector.resolve(texts, [None, "und", "", "zxx"]) == ["fr", "en", "es", "de"]


def test_a_short_tweet_read_with_little_confidence_goes_to_a_served_language(
    detector: LanguageDetector,
) -> None:
    # fastText's first guess is Spanish, with p 0.37; English is among its next two
    assert detector.detect("Hello Twitter API ;)") == "en"
    assert LanguageDetector(served=set()).detect("Hello Twitter API ;)") == "es"


def test_metrics_see_a_bounded_set_of_languages() -> None:
    assert [metric_language(lang) for lang in ("fr", "en", "es", "tlh", "ceb")] == [
        "fr",
        "en",
        "es",
        "other",
        "other",
    ]


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("@AirParadis the flight was late and nobody told us", "en"),
        ("just landed, thank you for the smooth flight", "en"),
        ("love it", None),  # too few words to tell: fastText decides
        ("Je regarde the voice kids en replay", None),  # both languages' words
        ("the hotel y la playa con mi familia", None),  # Spanish words
        ("the café was closed and you know it", None),  # English, but not plain ASCII
        ("Mon vol est annulé et personne ne répond", "fr"),
        ("VOL ANNULÉ, C'EST UNE HONTE", "fr"),  # capitals: fastText reads English
        ("Mi vuelo es un desastre, no hay nadie", None),  # Spanish
        ("El meu vol és tard, per què?", None),  # Catalan
        ("bonjour", None),
    ],
)
def test_plain_english_or_french_is_told_by_its_words(text: str, told: str | None) -> None:
    assert told_by_words(text) == told


def test_words_that_tell_the_language_skip_fasttext(monkeypatch: pytest.MonkeyPatch) -> None:
    detector = LanguageDetector(served={"en", "fr"})

    def no_fasttext() -> None:
        raise AssertionError("fastText was asked")

    monkeypatch.setattr(detector, "_loaded", no_fasttext)

    texts = ["the flight was late and you lost my bag", "Mon vol est en retard"]
    assert detector.resolve(texts, [None, None]) == ["en", "fr"]
    with pytest.raises(AssertionError, match="fastText was asked"):
        detector.resolve(["Bon voyage"], [None])


def test_an_unsure_guess_on_ascii_text_falls_back_to_the_bundles_language() -> None:
    # fastText: Pampanga, p 0.27, no served language among its next two guesses
    text = "itchy back!! dont ya hate it!"
    assert LanguageDetector(served={"en", "fr"}).detect(text) == "pam"
    assert LanguageDetector(served={"en", "fr"}, fallback="en").detect(text) == "en"
    # a confident guess stays: Spanish, p 0.84
    assert LanguageDetector(served={"en", "fr"}, fallback="en").detect("Loves twitter") == "es"
