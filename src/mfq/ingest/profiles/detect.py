"""Detecting a source's profile from the keys of a sample of its records (never its name)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mfq.ingest.profiles.model import Detection, Profile

#: Records of a source that detection reads.
SAMPLE_RECORDS = 64
#: How deep nested objects are walked for dotted key paths.
_DEPTH = 3


def key_paths(obj: dict[str, object]) -> dict[str, object]:
    """Every key of ``obj`` and every dotted path into its nested objects, with values."""
    found: dict[str, object] = {}
    _collect(obj, "", found, _DEPTH)
    return found


def _collect(node: dict[str, object], prefix: str, out: dict[str, object], depth: int) -> None:
    for key, value in node.items():
        name = prefix + key
        out.setdefault(name, value)
        if isinstance(value, dict) and depth > 1:
            _collect(value, name + ".", out, depth - 1)


def matches(rule: Detection, paths: dict[str, object]) -> bool:
    """True when one record's keys satisfy a profile's detection rule."""
    if any(key not in paths for key in rule.all):
        return False
    if any(not any(key in paths for key in group) for group in rule.any):
        return False
    if any(key in paths for key in rule.none):
        return False
    for key, prefix in rule.prefix.items():
        value = paths.get(key)
        if not isinstance(value, str) or not value.startswith(prefix):
            return False
    return True


def reads(profile: Profile, paths: dict[str, object]) -> int:
    """How many standard fields ``profile``'s own keys give from one record's keys (a
    template's when any of its parts is there)."""
    return sum(
        any(any(part in paths for part in getter.parts) for getter in getters)
        for getters in profile.fields.values()
    )


def detect(records: Iterable[object], profiles: Sequence[Profile]) -> Profile | None:
    """The most specific profile that at least half of the sampled records match (ties go
    to the one matching more records, then to the one that says what its records are
    not, then to the one reading more standard fields from them, then by name). None when
    no profile fits: the default aliases apply."""
    samples = [key_paths(r) for r in records if isinstance(r, dict)]
    if not samples:
        return None
    best: tuple[int, int, int, int] | None = None
    chosen: Profile | None = None
    # By name, and a later profile chosen only over a lower score: which profile wins never
    # depends on the order they are given in.
    for profile in sorted(profiles, key=lambda p: p.name):
        if profile.detect is None:
            continue
        matched = [paths for paths in samples if matches(profile.detect, paths)]
        hits = len(matched)
        if hits * 2 < len(samples) or hits == 0:
            continue
        # A more specific rule wins: Manufactory's rule (a name and a time) also fits
        # most foreign records. Between rules as specific, matching as many records, the
        # one that also says what its records are not wins: a Zeek record holding a
        # ``name`` (a time, a name: Manufactory's rule too) is Zeek's alone in a file or
        # among other Zeek records, never Manufactory's by the order profiles are tried.
        # Between those, the one whose keys give more of the records' standard fields:
        # a Zeek record a shipper gave ``@timestamp`` and ``ecs`` (ECS's rule too) has
        # its type and time under Zeek's keys, and only its time under ECS's.
        rule = profile.detect
        score = (rule.specificity, hits, len(rule.none), sum(reads(profile, p) for p in matched))
        if best is None or score > best:
            best, chosen = score, profile
    return chosen
