from stream.models.control import ShadowTally
from stream.models.gate import judge


def test_a_challenger_with_enough_agreeing_scores_and_no_worse_feedback_passes() -> None:
    tally = ShadowTally("v1", 1200, 1100, {"negative": 700, "positive": 500}, 40, 30, 33, 1.5)
    decision = judge(tally, min_scores=1000, min_agreement=0.9)
    assert decision.passed
    assert "agreement with v1: 0.917 on 1200" in str(decision)
    assert "0.825 against the champion's 0.750, on 40" in str(decision)


def test_too_few_scores_or_worse_on_feedback_refuse_with_the_numbers() -> None:
    few = judge(ShadowTally("v1", 10, 10), min_scores=1000, min_agreement=0.9)
    worse = judge(ShadowTally("v1", 2000, 1990, {}, 20, 15, 14), min_scores=1000, min_agreement=0.9)
    assert not few.passed and "FAIL live scores in shadow: 10 (need >= 1000)" in few.lines
    assert not worse.passed
    assert any(line.startswith("FAIL right on user-labelled") for line in worse.lines)


def test_a_challenger_that_cannot_read_a_language_the_champion_scores_is_refused() -> None:
    labels = {"negative": 900, "positive": 250, "unsupported_language": 50}
    decision = judge(ShadowTally("v1", 1200, 1150, labels), min_scores=1000, min_agreement=0.9)
    assert not decision.passed
    assert (
        "FAIL tweets the champion scored in a language the challenger does not read: 50 (need 0)"
        in decision.lines
    )
