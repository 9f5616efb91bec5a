"""What the control topic (`badbuzz.models`, compacted, one partition) says, as plain data.

Keys and values:
- `bundle/<version>`: where the bundle's bytes are and their sha256 (the catalogue);
- `role/champion`: the version every worker labels with, and the champions before it (what
  `badbuzz model rollback` returns to);
- `role/challenger`: the version scored in shadow; a tombstone ends the shadow;
- `shadow/<challenger>/<worker>`: one worker's running tallies of that shadow, for the gate.

Every worker reads the topic whole from its beginning, outside any consumer group (the
broadcast-state pattern): the latest value of each key is the state.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

BUNDLE_PREFIX = "bundle/"
CHAMPION_KEY = "role/champion"
CHALLENGER_KEY = "role/challenger"
SHADOW_PREFIX = "shadow/"
HISTORY_KEPT = 20  # champions remembered for rollback


@dataclass(frozen=True)
class BundleRef:
    """A bundle's bytes: `chunks` consecutive records of `topic`[`partition`] from `offset`."""

    version: str
    sha256: str
    size: int
    topic: str
    partition: int
    offset: int
    chunks: int

    @property
    def location(self) -> str:
        return f"kafka://{self.topic}/{self.partition}@{self.offset}+{self.chunks}"


@dataclass(frozen=True)
class Champion:
    version: str
    previous: tuple[str, ...] = ()  # the champions before, most recent first
    reason: str = ""


@dataclass(frozen=True)
class ShadowTally:
    """One worker's figures for a challenger against the champion of the same batches."""

    champion: str
    scored: int = 0
    agreed: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    feedback: int = 0  # user-labelled tweets both models scored
    champion_right: int = 0
    challenger_right: int = 0
    latency_s: float = 0.0  # the challenger's inference time, summed

    @property
    def agreement(self) -> float | None:
        """The share of live scores where both models gave the same label; None before any."""
        return self.agreed / self.scored if self.scored else None

    def plus(self, other: ShadowTally) -> ShadowTally:
        labels = dict(Counter(self.labels) + Counter(other.labels))
        return ShadowTally(
            self.champion,
            self.scored + other.scored,
            self.agreed + other.agreed,
            labels,
            self.feedback + other.feedback,
            self.champion_right + other.champion_right,
            self.challenger_right + other.challenger_right,
            self.latency_s + other.latency_s,
        )


@dataclass
class ControlState:
    """The control topic folded: the latest value of every key."""

    bundles: dict[str, BundleRef] = field(default_factory=dict)
    champion: Champion | None = None
    challenger: str | None = None
    shadow: dict[str, dict[str, ShadowTally]] = field(default_factory=dict)  # version -> worker

    def apply(self, key: bytes, value: bytes | None) -> None:
        name = key.decode()
        body: dict[str, Any] | None = None if value is None else json.loads(value)
        if name.startswith(BUNDLE_PREFIX):
            version = name.removeprefix(BUNDLE_PREFIX)
            if body is None:
                self.bundles.pop(version, None)
            else:
                self.bundles[version] = BundleRef(**body)
        elif name == CHAMPION_KEY:
            self.champion = None if body is None else champion_of(body)
        elif name == CHALLENGER_KEY:
            self.challenger = None if body is None else str(body["version"])
        elif name.startswith(SHADOW_PREFIX):
            version, _, worker = name.removeprefix(SHADOW_PREFIX).partition("/")
            tallies = self.shadow.setdefault(version, {})
            if body is None:
                tallies.pop(worker, None)
            else:
                tallies[worker] = ShadowTally(**body)

    def named(self) -> set[str]:
        """The versions a worker should hold: the champion and the challenger."""
        named = {self.challenger} if self.challenger else set()
        if self.champion is not None:
            named.add(self.champion.version)
        return named

    def named_bundles(self) -> set[tuple[str, str]]:
        """(version, sha256) of the named versions that have a bundle published."""
        return {(v, ref.sha256) for v in self.named() if (ref := self.bundles.get(v)) is not None}

    def shadow_total(self, version: str, champion: str) -> ShadowTally:
        """Every worker's tally for `version` in shadow of `champion`, summed."""
        total = ShadowTally(champion)
        for tally in self.shadow.get(version, {}).values():
            if tally.champion == champion:
                total = total.plus(tally)
        return total


def champion_of(body: dict[str, Any]) -> Champion:
    return Champion(str(body["version"]), tuple(body.get("previous", ())), body.get("reason", ""))


def encode(value: BundleRef | Champion | ShadowTally | dict[str, str]) -> bytes:
    body = value if isinstance(value, dict) else asdict(value)
    return json.dumps(body, sort_keys=True).encode()


def bundle_key(version: str) -> bytes:
    return f"{BUNDLE_PREFIX}{version}".encode()


def shadow_key(version: str, worker: str) -> bytes:
    return f"{SHADOW_PREFIX}{version}/{worker}".encode()


def promoted(state: ControlState, version: str, reason: str) -> Champion:
    """The champion record that makes `version` champion, the one it replaces remembered."""
    if state.champion is None:
        return Champion(version, (), reason)
    history = (state.champion.version, *state.champion.previous)
    return Champion(version, tuple(v for v in history if v != version)[:HISTORY_KEPT], reason)


def rolled_back(state: ControlState) -> Champion | None:
    """The champion before the current one, or None when there is none to return to."""
    if state.champion is None or not state.champion.previous:
        return None
    back, *rest = state.champion.previous
    return Champion(back, tuple(rest), f"rollback from {state.champion.version}")
