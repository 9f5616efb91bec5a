"""The web token: read from its setting or file, never shown, checked by a guard that fails
closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.settings import Settings
from stream.web.auth import Guard, load_token

TOKEN = "0123456789abcdef-token"


def test_the_token_comes_from_the_setting_or_its_file_and_is_never_printed(
    tmp_path: Path,
) -> None:
    assert load_token(Settings()) is None
    settings = Settings(web_token=TOKEN)
    assert load_token(settings) == TOKEN.encode()
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert load_token(Settings(web_token_file=token_file)) == TOKEN.encode()


@pytest.mark.parametrize(
    ("file_text", "env_token", "message"),
    [
        ("", None, "BADBUZZ_WEB_TOKEN_FILE must hold at least 16"),
        (None, "short", "BADBUZZ_WEB_TOKEN must hold at least 16"),
        (TOKEN, TOKEN, "not both"),
        ("missing", None, "No such file"),
    ],
)
def test_an_unusable_token_setting_stops_the_worker_at_start(
    tmp_path: Path, file_text: str | None, env_token: str | None, message: str
) -> None:
    token_file = tmp_path / "token"
    if file_text not in (None, "missing"):
        token_file.write_text(file_text)
    settings = Settings(
        web_token=env_token, web_token_file=None if file_text is None else token_file
    )
    with pytest.raises(ValueError, match=message):
        load_token(settings)


def test_the_guard_fails_closed_and_checks_the_scheme_and_the_token() -> None:
    assert "BADBUZZ_WEB_TOKEN" in (Guard(None).refusal(f"Bearer {TOKEN}") or "")
    guard = Guard(TOKEN.encode())
    assert guard.refusal(None) is not None
    assert guard.refusal("Bearer") is not None
    assert guard.refusal(f"Basic {TOKEN}") is not None
    assert guard.refusal(f"Bearer {TOKEN}x") == "invalid bearer token"
    assert guard.refusal("Bearer jeton-délicat-ünïcode") == "invalid bearer token"
    assert guard.refusal(f"Bearer {TOKEN}") is None
    assert guard.refusal(f"bearer {TOKEN}") is None


def test_the_guard_never_shows_its_token() -> None:
    guard = Guard(TOKEN.encode())
    for shown in (repr(guard), str(guard), f"{guard}", repr([guard])):
        assert TOKEN not in shown and "token=<hidden>" in shown
    assert repr(Guard(None)) == "Guard(token=None)"


def test_the_guard_refuses_a_header_of_any_bytes_without_raising() -> None:
    guard = Guard(TOKEN.encode())
    for header in ("Bearer \udcff\udcfe", "Bearer \ud800", f"Bearer {TOKEN}\udce9", "\udcc3("):
        assert guard.refusal(header) is not None
