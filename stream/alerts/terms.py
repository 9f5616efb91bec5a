"""What a bad buzz is about: its distinctive terms and a few tweets that represent it.

Pure functions and one small value type, no I/O:

- `tokens(text, brand)`: the words worth counting in a tweet. Text goes through the model's
  own normalisation (`model.text.normalize`); URLs, @mentions, numbers, faces and `!`/`?` are
  dropped, as are English and French stop words and the brand's own name or handle.
- `TermCounts`: a bounded bag of term counts (at most `capacity` distinct terms, kept by count
  with ties broken by the term, so the result does not depend on arrival order among equals);
  `add`, `merged`, `decayed`, `to_dict`/`from_dict`. Its JSON is at most `max_json_bytes`.
- `distinctive_terms(window, baseline, k)`: the weighted log-odds ratio with an informative
  Dirichlet prior ("Fightin' Words": Monroe, Colaresi & Quinn 2008, Political Analysis 16(4),
  section 3.5.1), the prior taken from the brand's own history. Words frequent in both the
  window and the baseline score near zero; the burst's own words score high.
- `dedupe_key(text)`: retweets and near-copies (case, URLs, mentions, numbers, punctuation)
  map to one key, so a tweet copied a hundred times counts once.
- `representative_examples(candidates, terms, k)`: up to `k` tweets, near-duplicates
  collapsed, picked greedily to cover the top terms rather than the newest ones.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from model.text import TOKEN, normalize

MAX_TERM_CHARS = 32
DEFAULT_CAPACITY = 500
RETWEET = re.compile(r"^\s*rt\s+@\w+\s*:?\s*", re.IGNORECASE)
ELISION = re.compile(r"^(?:l|d|j|n|m|t|s|c|qu|jusqu|lorsqu|puisqu)'(?=\w)")
NOT_A_WORD = re.compile(r"[^\w\s]|_|\d", re.UNICODE)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


ENGLISH_STOP_WORDS = _word_set(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further get gets got had hadn't has
    hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more
    most mustn't my myself no nor not now of off on once only or other ought our ours
    ourselves out over own same shan't she she'd she'll she's should shouldn't so some such
    than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those through to too under until up very was wasn't we we'd
    we'll we're we've were weren't what what's when when's where where's which while who who's
    whom why why's will with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves im ive dont cant wont didnt doesnt isnt u ur also still even ever
    really like one us via amp rt lol
    """
)
FRENCH_STOP_WORDS = _word_set(
    """
    au aux avec ce ces dans de des du elle en et eux il ils je la le les leur lui ma mais me
    même mes moi mon ne nos notre nous on ou où par pas pour qu que qui sa se ses son sur ta
    te tes toi ton tu un une vos votre vous c d j l à m n s t y été étée étées étés étant
    suis es est sommes êtes sont serai sera serons seront serais serait étais était étions
    étiez étaient fus fut avoir ai as avons avez ont aurai aura aurons auront avais avait
    avions aviez avaient eu eue ceci cela ça cet cette ici ils leurs quel quels quelle
    quelles sans sous très tout tous toute toutes plus moins bien encore déjà alors donc
    comme si aussi fait faire peu trop car ni soit chez entre vers depuis rien
    """
)
STOP_WORDS = ENGLISH_STOP_WORDS | FRENCH_STOP_WORDS


def _brand_words(brand: str | None) -> frozenset[str]:
    """How a brand is written in tweets: "Air Paradis" -> airparadis, air, paradis."""
    if not brand:
        return frozenset()
    parts = re.split(r"[\W_]+", brand.lower())
    return frozenset([*filter(None, parts), "".join(parts)])


def tokens(text: str, brand: str | None = None) -> list[str]:
    """The content words of a tweet, normalised like the model's input, in order."""
    own = _brand_words(brand)
    words = []
    for token in TOKEN.findall(normalize(text)):
        if token.startswith("<") or token in ("!", "?"):
            continue  # placeholders (<url>, <user>, <num>, faces) and punctuation
        token = ELISION.sub("", token)
        if (
            len(token) < 2
            or len(token) > MAX_TERM_CHARS
            or token in STOP_WORDS
            or token.isdigit()
            or token in own
        ):
            continue
        words.append(token)
    return words


@dataclass(frozen=True, slots=True)
class Term:
    term: str
    z_score: float
    count: float


@dataclass(slots=True)
class TermCounts:
    """A bag of term counts holding at most `capacity` distinct terms.

    When full, the terms with the smallest counts go (ties: the term later in sort order goes),
    so a long-lived bag keeps its heavy hitters. Counts are floats: `decayed` ages them.
    """

    capacity: int = DEFAULT_CAPACITY
    counts: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.counts.values())

    @property
    def max_json_bytes(self) -> int:
        """Upper bound of `len(json.dumps(self.to_dict()).encode())`: each term is at most
        MAX_TERM_CHARS characters (6 bytes each once JSON-escaped) plus a rounded count."""
        return 64 + self.capacity * (6 * MAX_TERM_CHARS + 20)

    def add(self, words: Iterable[str], weight: float = 1.0) -> None:
        for word in words:
            self.counts[word] = self.counts.get(word, 0.0) + weight
        self._prune()

    def merged(self, other: TermCounts) -> TermCounts:
        counts = dict(self.counts)
        for word, count in other.counts.items():
            counts[word] = counts.get(word, 0.0) + count
        result = TermCounts(self.capacity, counts)
        result._prune()
        return result

    def decayed(self, factor: float, floor: float = 0.05) -> TermCounts:
        """Every count times `factor`; counts that fall below `floor` are forgotten."""
        counts = {w: c * factor for w, c in self.counts.items() if c * factor >= floor}
        return TermCounts(self.capacity, counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "capacity": self.capacity,
            "counts": {w: round(c, 3) for w, c in sorted(self.counts.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TermCounts:
        counts = {
            str(w)[:MAX_TERM_CHARS]: float(c)
            for w, c in data.get("counts", {}).items()
            if float(c) > 0
        }
        result = cls(int(data.get("capacity", DEFAULT_CAPACITY)), counts)
        result._prune()
        return result

    def _prune(self) -> None:
        if len(self.counts) > self.capacity:
            kept = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
            self.counts = dict(kept[: self.capacity])


def distinctive_terms(
    window: TermCounts,
    baseline: TermCounts,
    k: int,
    prior_size: float = 100.0,
    min_count: float = 2.0,
    min_z: float = 1.96,
) -> list[Term]:
    """The `k` window terms with the highest z-score of the weighted log-odds ratio against
    the baseline, with an informative Dirichlet prior (Monroe et al. 2008, eq. 16-22).

    The prior's mean is the brand's own term distribution (baseline and window pooled, as
    the paper pools its corpus, plus half a count per term), scaled to `prior_size`
    pseudo-words: a brand's usual vocabulary needs real evidence to stand out, and a word
    seen once is never a winner. Terms seen fewer than `min_count` times in the window, or
    with z below `min_z` (about 95% one-sided), are not reported.
    """
    vocabulary = set(window.counts) | set(baseline.counts)
    if k <= 0 or not window.counts:
        return []
    smoothing = 0.5
    n_window, n_baseline = window.total, baseline.total
    prior_total = n_baseline + n_window + smoothing * len(vocabulary)
    scored = []
    for word, count in window.counts.items():
        if count < min_count:
            continue
        background = baseline.counts.get(word, 0.0)
        alpha = prior_size * (background + count + smoothing) / prior_total
        delta = _log_odds(count, n_window, alpha, prior_size) - _log_odds(
            background, n_baseline, alpha, prior_size
        )
        variance = 1.0 / (count + alpha) + 1.0 / (background + alpha)
        z = delta / math.sqrt(variance)
        if z >= min_z:
            scored.append(Term(word, round(z, 3), round(count, 3)))
    scored.sort(key=lambda term: (-term.z_score, -term.count, term.term))
    return scored[:k]


def _log_odds(count: float, total: float, alpha: float, alpha_total: float) -> float:
    return math.log(count + alpha) - math.log(max(total + alpha_total - count - alpha, 1e-9))


def _near_copy_text(text: str) -> str:
    """Text with what copies differ in removed: the RT prefix, case, URLs, mentions,
    numbers, punctuation, repeated letters and whitespace."""
    text = RETWEET.sub("", text)
    text = normalize(text)
    text = re.sub(r"<\w+>", " ", text)
    return " ".join(NOT_A_WORD.sub(" ", text).split())


def dedupe_key(text: str) -> str:
    """The same key for a tweet, its retweets and its near-copies."""
    return hashlib.sha256(_near_copy_text(text).encode()).hexdigest()[:16]


def _shingles(text: str) -> frozenset[str]:
    words = _near_copy_text(text).split()
    if len(words) < 3:
        return frozenset(words)
    return frozenset(" ".join(words[i : i + 3]) for i in range(len(words) - 2))


def _similar(a: frozenset[str], b: frozenset[str], threshold: float = 0.6) -> bool:
    """Most of the shorter text's shingles are in the other: a copy, maybe with a comment."""
    if not a or not b:
        return a == b
    return len(a & b) / min(len(a), len(b)) >= threshold


def representative_examples(
    candidates: Sequence[tuple[str, str]], terms: Sequence[str], k: int
) -> list[tuple[str, str]]:
    """Up to `k` (tweet_id, text) pairs covering as many of `terms` as they can.

    Greedy maximum coverage, earlier terms weighing more: each pick is the tweet adding the
    most weight of terms no pick covers yet (ties: more covered terms in all, then the
    earlier candidate). Retweets and near-copies of a pick (same `dedupe_key`, or 3-word
    shingles, 60% of the shorter one's in the other) are never picked. When no tweet adds a
    new term, the rest are filled in candidate order.
    """
    weights = {term: float(len(terms) - rank) for rank, term in enumerate(terms)}
    pool = []
    seen_keys = set()
    for tweet_id, text in candidates:
        key = dedupe_key(text)
        if key in seen_keys:
            continue
        seen_keys.add(key)
        pool.append((tweet_id, text, set(tokens(text)) & weights.keys(), _shingles(text)))
    picked: list[tuple[str, str, set[str], frozenset[str]]] = []
    covered: set[str] = set()
    while pool and len(picked) < k:
        best = max(
            range(len(pool)),
            key=lambda i: (
                sum(weights[t] for t in pool[i][2] - covered),
                sum(weights[t] for t in pool[i][2]),
                -i,
            ),
        )
        choice = pool.pop(best)
        picked.append(choice)
        covered |= choice[2]
        pool = [c for c in pool if not _similar(c[3], choice[3])]
    return [(tweet_id, text) for tweet_id, text, _, _ in picked]
