from stream.models.control import (
    CHALLENGER_KEY,
    CHAMPION_KEY,
    BundleRef,
    Champion,
    ControlState,
    ShadowTally,
    bundle_key,
    encode,
    promoted,
    rolled_back,
    shadow_key,
)

REF = BundleRef("v2", "ab" * 32, 1000, "badbuzz.model-bundles", 0, 17, 2)


def test_the_latest_value_of_each_key_is_the_state_and_a_tombstone_removes() -> None:
    state = ControlState()
    state.apply(bundle_key("v2"), encode(REF))
    state.apply(CHAMPION_KEY.encode(), encode(Champion("v1")))
    state.apply(CHAMPION_KEY.encode(), encode(Champion("v2", ("v1",))))
    state.apply(CHALLENGER_KEY.encode(), encode({"version": "v3"}))
    state.apply(CHALLENGER_KEY.encode(), None)
    assert state.bundles == {"v2": REF}
    assert state.champion == Champion("v2", ("v1",))
    assert state.challenger is None
    assert REF.location == "kafka://badbuzz.model-bundles/0@17+2"


def test_promotions_remember_the_champions_before_and_rollback_walks_back() -> None:
    state = ControlState()
    for version in ("v1", "v2", "v3", "v2"):
        state.champion = promoted(state, version, "test")
    assert state.champion.previous == ("v3", "v1")  # v2 once, at its latest place
    back = rolled_back(state)
    assert back is not None and (back.version, back.previous) == ("v3", ("v1",))
    assert rolled_back(ControlState()) is None


def test_shadow_tallies_of_every_worker_add_up_against_the_same_champion_only() -> None:
    state = ControlState()
    state.apply(shadow_key("v3", "w1"), encode(ShadowTally("v2", 10, 9, {"negative": 10})))
    state.apply(shadow_key("v3", "w2"), encode(ShadowTally("v2", 5, 5, {"positive": 5})))
    state.apply(shadow_key("v3", "w3"), encode(ShadowTally("v1", 100, 0)))
    total = state.shadow_total("v3", "v2")
    assert (total.scored, total.agreed, total.labels) == (15, 14, {"negative": 10, "positive": 5})
