"""Which keys hold secrets: judged by the key's words, not by substrings.

A key is split into words (camelCase, snake_case, dots, dashes); it is secret when one of
its dotted parts ends with a secret word (``password``, ``token``, ...) or a known
two-word secret (``api_key``, ``private_key``). ``TokenElevationType`` and
``input_tokens`` are not secrets; ``sessionToken``, ``access_token`` and ``X-Api-Key`` are.
"""

from __future__ import annotations

import re

SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "apikey",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "passphrase",
    }
)
SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("access", "key"),
        ("set", "cookie"),
    }
)
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|\b|_|$)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def key_words(part: str) -> list[str]:
    """The lower-case words of one key part: ``sessionToken`` -> ``session``, ``token``."""
    return [w.lower() for w in _WORD.findall(part)]


def is_secret_name(name: str) -> bool:
    """True when any dotted part of a (flattened) key names a secret."""
    for part in name.split("."):
        words = key_words(part)
        if not words:
            continue
        if words[-1] in SECRET_WORDS:
            return True
        if len(words) >= 2 and (words[-2], words[-1]) in SECRET_PAIRS:
            return True
    return False
