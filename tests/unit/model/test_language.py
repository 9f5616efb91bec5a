import pytest

from model.language import LanguageDetector, claimed_language, metric_language, plainly_english


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
    ("text", "english"),
    [
        ("@AirParadis the flight was late and nobody told us", True),
        ("just landed, thank you for the smooth flight", True),
        ("love it", False),  # too few words to tell: fastText decides
        ("Je regarde the voice kids en replay", False),  # French words
        ("Vous me croyez si je vous dis que je regarde the voice", False),
        ("the hotel y la playa con mi familia", False),  # Spanish words
        ("the café was closed and you know it", False),  # not plain ASCII
    ],
)
def test_plainly_english_text_is_told_by_its_words(text: str, english: bool) -> None:
    assert plainly_english(text) is english


def test_a_plainly_english_tweet_is_read_without_fasttext(monkeypatch: pytest.MonkeyPatch) -> None:
    detector = LanguageDetector(served={"en", "fr"})

    def no_fasttext() -> None:
        raise AssertionError("fastText was asked")

    monkeypatch.setattr(detector, "_loaded", no_fasttext)

    assert detector.resolve(["the flight was late and you lost my bag"], [None]) == ["en"]
    with pytest.raises(AssertionError, match="fastText was asked"):
        detector.resolve(["Mon vol est en retard"], [None])
