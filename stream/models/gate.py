"""Whether a challenger's shadow figures allow its promotion: enough live scores, enough
agreement with the champion (a broken model disagrees wildly), every language the champion
scored read (promoted, it would stop scoring the others), and no worse than the champion on
the tweets users labelled. Pure: the figures in, a decision with its reasons out.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas import Label
from stream.models.control import ShadowTally


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    lines: list[str]

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "REFUSED"
        return "\n".join([f"gate {verdict}", *(f"  {line}" for line in self.lines)])


def judge(tally: ShadowTally, min_scores: int, min_agreement: float) -> GateDecision:
    checks: list[tuple[bool, str]] = [
        (
            tally.scored >= min_scores,
            f"live scores in shadow: {tally.scored} (need >= {min_scores})",
        )
    ]
    agreement = tally.agreement or 0.0
    checks.append(
        (
            agreement >= min_agreement,
            f"agreement with {tally.champion}: {agreement:.3f} on {tally.scored} "
            f"(need >= {min_agreement:.3f})",
        )
    )
    unread = tally.labels.get(Label.UNSUPPORTED_LANGUAGE.value, 0)
    checks.append(
        (
            unread == 0,
            f"tweets the champion scored in a language the challenger does not read: {unread} "
            "(need 0)",
        )
    )
    if tally.feedback:
        mine, theirs = (
            tally.challenger_right / tally.feedback,
            tally.champion_right / tally.feedback,
        )
        checks.append(
            (
                mine >= theirs,
                f"right on user-labelled tweets: {mine:.3f} against the champion's "
                f"{theirs:.3f}, on {tally.feedback} (need no worse)",
            )
        )
    else:
        checks.append((True, "right on user-labelled tweets: no feedback on shared tweets yet"))
    if tally.scored:
        shares = ", ".join(
            f"{name} {count / tally.scored:.2f}" for name, count in sorted(tally.labels.items())
        )
        checks.append((True, f"labels: {shares}; {tally.latency_s:.2f} s of inference in all"))
    return GateDecision(
        all(ok for ok, _ in checks),
        [f"{'ok  ' if ok else 'FAIL'} {line}" for ok, line in checks],
    )
