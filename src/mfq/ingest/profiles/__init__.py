"""Format profiles: well-known event log formats read with no options (see ``model``).

The built-in profiles are TOML files in ``builtin/``, the same format a user's own profile
file has (``--profile ./myformat.toml``); ``docs/guide.md`` documents it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from mfq.errors import UsageError
from mfq.ingest.profiles.detect import SAMPLE_RECORDS, detect
from mfq.ingest.profiles.model import Profile, profile_from_toml

__all__ = [
    "DEFAULT",
    "NONE",
    "OTLP",
    "SAMPLE_RECORDS",
    "Profile",
    "builtin_profile",
    "builtin_profiles",
    "detect",
    "load_profile",
]

#: Reported when no profile fits (the default aliases apply) and when detection is off.
DEFAULT, NONE = "default", "none"
#: Given by the OTLP reader, never detected from keys.
OTLP = "otlp"


@functools.cache
def builtin_profiles() -> tuple[Profile, ...]:
    """Every built-in profile, in name order."""
    # The files beside this module, read as files: ``importlib.resources`` (which would
    # also read them from a zip archive, where mfq is never installed) imports zipfile,
    # tempfile and random, some 5 ms of every question on a file and every ingest.
    folder = Path(__file__).with_name("builtin")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            found.append(profile_from_toml(entry.read_text("utf-8"), entry.name))
    return tuple(found)


def builtin_profile(name: str) -> Profile | None:
    """The built-in profile called ``name``."""
    return next((p for p in builtin_profiles() if p.name == name), None)


def load_profile(choice: str) -> Profile:
    """``--profile NAME`` or ``--profile ./file.toml`` (a path holds a slash or ends in
    ``.toml``)."""
    if "/" in choice or choice.endswith(".toml"):
        path = Path(choice)
        try:
            text = path.read_text("utf-8")
        except OSError as err:
            raise UsageError(f"--profile: cannot read {choice}: {err.strerror or err}") from None
        return profile_from_toml(text, choice)
    profile = builtin_profile(choice)
    if profile is None:
        names = ", ".join([p.name for p in builtin_profiles()] + [NONE])
        raise UsageError(f"--profile: unknown profile {choice!r} (known: {names}, or a .toml file)")
    return profile
