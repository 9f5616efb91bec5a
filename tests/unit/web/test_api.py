"""The /predict request and response, and the HTTP status of each rejection."""

from __future__ import annotations

import json

import numpy as np

from schemas import Label
from stream.pipeline.intake import Rejection, parse_message
from stream.pipeline.steps import Predicted
from stream.web.api import PredictRequest, http_status, predictions, too_many_texts


def parse_predict(body: object) -> PredictRequest | Rejection:
    return parse_message(json.dumps(body).encode(), PredictRequest, 10_000)


def test_a_predict_body_holds_one_text_or_a_bounded_list_of_non_blank_texts() -> None:
    one = parse_predict({"text": "late again"})
    assert isinstance(one, PredictRequest) and one.all_texts == ["late again"]
    many = parse_predict({"texts": ["a", "b", "c"]})
    assert isinstance(many, PredictRequest) and many.all_texts == ["a", "b", "c"]
    assert too_many_texts(many, 3) is None
    assert (too_many_texts(many, 2) or Rejection("", "")).reason == "too_many_texts"
    refused = {
        "both": parse_predict({"text": "a", "texts": ["b"]}),
        "neither": parse_predict({}),
        "blank": parse_predict({"text": "   "}),
        "blank_in_list": parse_predict({"texts": ["ok", " "]}),
        "empty_list": parse_predict({"texts": []}),
        "number": parse_predict({"text": 3}),
        "unknown_field": parse_predict({"text": "a", "txt": "b"}),
    }
    assert all(isinstance(r, Rejection) for r in refused.values()), refused
    assert refused["blank"].reason == "empty_text"  # type: ignore[union-attr]


def test_each_rejection_maps_to_the_http_status_a_client_can_act_on() -> None:
    statuses = {
        reason: http_status(Rejection(reason, ""))
        for reason in ("oversized", "empty_payload", "malformed_json", "bad_encoding")
    }
    assert statuses == {
        "oversized": 413,
        "empty_payload": 400,
        "malformed_json": 400,
        "bad_encoding": 400,
    }
    for reason in ("not_an_object", "invalid_field", "missing_text", "too_many_texts"):
        assert http_status(Rejection(reason, "")) == 422


def test_predictions_carry_the_pipelines_labels_languages_and_every_class_probability() -> None:
    predicted = Predicted(
        version="v1",
        threshold=0.5,
        classes=("negative", "neutral", "positive"),
        probabilities=[np.array([0.1, 0.2, 0.7]), np.array([0.6, 0.3, 0.1]), None],
        labels=[Label.POSITIVE, Label.NEGATIVE, Label.UNSUPPORTED_LANGUAGE],
        langs=["en", "fr", "de"],
        versions=["v1", "v1-fr", "v1"],
        prior=np.array([0.6, 0.2, 0.2]),
    )
    got = predictions(["x", "y", "z"], predicted)
    assert [(p.text, p.label.value, p.lang, p.model_version) for p in got] == [
        ("x", "positive", "en", "v1"),
        ("y", "negative", "fr", "v1-fr"),
        ("z", "unsupported_language", "de", "v1"),
    ]
    assert [(p.p_negative, p.p_neutral, p.p_positive, p.scored) for p in got] == [
        (0.1, 0.2, 0.7, True),
        (0.6, 0.3, 0.1, True),
        (None, None, None, False),
    ]
