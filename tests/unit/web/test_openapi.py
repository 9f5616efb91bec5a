"""The OpenAPI document: every endpoint, its responses, and which ones take the token."""

from __future__ import annotations

from stream.settings import Settings
from stream.web.handlers import ROUTES
from stream.web.openapi import openapi_document


def test_openapi_documents_every_endpoint_and_which_ones_take_the_token() -> None:
    document = openapi_document(Settings(), ROUTES)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert set(paths) == {
        "/",
        "/static/page.js",
        "/static/page.css",
        "/predict",
        "/feedback",
        "/status",
        "/metrics",
        "/health",
        "/ready",
        "/openapi.json",
    }
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    feedback = paths["/feedback"]["post"]
    assert feedback["security"] == [{"bearerToken": []}]
    assert {"202", "400", "401", "413", "415", "422", "503"} == set(feedback["responses"])
    assert "16384 bytes" in feedback["responses"]["413"]["description"]
    assert "tweets.feedback" in feedback["summary"]
    assert paths["/predict"]["post"]["security"] == []
    schemas = document["components"]["schemas"]
    assert schemas["FeedbackVerdict"]["enum"] == ["wrong", "correct"]
    assert {"tweet_id", "verdict"} <= set(schemas["Feedback"]["required"])
    assert "label" in schemas["Prediction"]["properties"]

    protected = openapi_document(Settings(web_protect_reads=True), ROUTES)["paths"]
    for path, method in (("/predict", "post"), ("/metrics", "get"), ("/status", "get")):
        assert protected[path][method]["security"] == [{"bearerToken": []}], path
        assert "401" in protected[path][method]["responses"]
    assert protected["/health"]["get"]["security"] == []
