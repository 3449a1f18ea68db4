"""Options that change how records are normalised at ingest."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import tzinfo

from mfq.ingest.profiles.model import Profile
from mfq.ingest.redaction import is_secret_name

REDACTED = "[redacted]"
#: The name reported for mappings given only with ``--map``.
MAP_ONLY = "map"


@dataclass(frozen=True)
class NormalizeOptions:
    """How to turn raw records into events (see SPEC: event model, untrusted data)."""

    assume_tz: tzinfo | None = None
    redact: bool = True
    extra_secret_patterns: tuple[str, ...] = ()
    #: Keys matching one of these are never redacted (``--keep-key``).
    keep_key_patterns: tuple[str, ...] = ()
    #: The profile applied: forced with ``--profile``, or detected per source.
    profile: Profile | None = None
    #: Detect each source's profile from its records (off with ``--profile``).
    detect_profile: bool = True
    #: ``--map FIELD=KEY`` pairs, applied over the profile.
    maps: tuple[tuple[str, str], ...] = ()
    extra_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    keep_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    #: The field mapping in force (profile plus maps); None: the default aliases only.
    mapping: Profile | None = field(init=False, repr=False, compare=False)
    _secret_cache: dict[str, bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "extra_regex", _any_of(self.extra_secret_patterns))
        set_(self, "keep_regex", _any_of(self.keep_key_patterns))
        base = self.profile
        mapping: Profile | None = base if base is not None and base.maps_fields else None
        if self.maps:
            mapping = (mapping or base or Profile(name=MAP_ONLY)).with_maps(dict(self.maps))
        set_(self, "mapping", mapping)
        set_(self, "_secret_cache", {})

    def is_secret_key(self, name: str) -> bool:
        """True when values under this (flattened) key must be stored redacted."""
        if not self.redact:
            return False
        cached = self._secret_cache.get(name)
        if cached is None:
            secret = is_secret_name(name) or (
                self.extra_regex is not None and self.extra_regex.search(name) is not None
            )
            if secret and self.keep_regex is not None and self.keep_regex.search(name):
                secret = False
            self._secret_cache[name] = cached = secret
        return cached

    def for_source(self, profile: Profile | None) -> NormalizeOptions:
        """These options with the profile detected for one source."""
        return replace(self, profile=profile, detect_profile=False)

    def identity(self) -> str:
        """A short key of everything here that changes what is stored: a source read with
        other options is read again."""
        forced = None
        if not self.detect_profile:
            forced = (
                "none" if self.profile is None else f"{self.profile.name}:{self.profile.digest()}"
            )
        described = {
            "assume_tz": None if self.assume_tz is None else str(self.assume_tz),
            "redact": self.redact,
            "redact_keys": list(self.extra_secret_patterns),
            "keep_keys": list(self.keep_key_patterns),
            "profile": forced,
            "maps": [list(pair) for pair in self.maps],
        }
        text = json.dumps(described, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


#: The identity of the default options (what sources ingested before options counted had).
DEFAULT_IDENTITY = NormalizeOptions().identity()
