"""Bearer-token guard for the web server: fail closed, compare in constant time."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from stream.settings import Settings

MIN_TOKEN_CHARS = 16
NO_TOKEN = (
    "this endpoint needs a bearer token and none is configured: "
    "set BADBUZZ_WEB_TOKEN or BADBUZZ_WEB_TOKEN_FILE"
)


def load_token(settings: Settings) -> bytes | None:
    """The configured token, read once at start; a misconfigured one stops the worker there
    rather than leaving a guessable door (an empty file must not mean an empty token)."""
    if settings.web_token is not None and settings.web_token_file is not None:
        raise ValueError("set BADBUZZ_WEB_TOKEN or BADBUZZ_WEB_TOKEN_FILE, not both")
    if settings.web_token_file is not None:
        try:
            token = settings.web_token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(
                f"BADBUZZ_WEB_TOKEN_FILE {settings.web_token_file}: {exc.strerror}"
            ) from None
        source = "BADBUZZ_WEB_TOKEN_FILE"
    elif settings.web_token is not None:
        token = settings.web_token.get_secret_value().strip()
        source = "BADBUZZ_WEB_TOKEN"
    else:
        return None
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{source} must hold at least {MIN_TOKEN_CHARS} characters")
    return token.encode("utf-8")


@dataclass(frozen=True, slots=True, repr=False)
class Guard:
    token: bytes | None

    def __repr__(self) -> str:
        """Whether a token is set, never the token: a repr reaches logs and tracebacks."""
        return f"Guard(token={'None' if self.token is None else '<hidden>'})"

    def refusal(self, authorization: str | None) -> str | None:
        """Why a request with this Authorization header may not pass, or None if it may.
        aiohttp hands over a header that is not UTF-8 with its bytes as surrogates: they are
        encoded as they stand (and never match a token, which is UTF-8), not refused by a
        strict encoder (a 500)."""
        if self.token is None:
            return NO_TOKEN
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented:
            return "missing bearer token: send 'Authorization: Bearer <token>'"
        presented_bytes = presented.strip().encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(presented_bytes, self.token):
            return "invalid bearer token"
        return None
