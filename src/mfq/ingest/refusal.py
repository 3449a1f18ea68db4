"""Saying loudly why a source stored nothing: its top reject reason, the keys tried and the
keys its records do have, and what to do (one line)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from mfq.ingest.profiles.model import Profile
from mfq.model.fields import STANDARD_FIELDS

#: Rejected records of a source whose keys are counted.
KEY_SAMPLE = 500
#: Keys named in a message.
SHOWN_KEYS = 6
_FIELD_OF_CODE = {"missing_type": "type", "missing_timestamp": "timestamp"}


@dataclass
class RejectKeys:
    """The reasons and the top-level keys of one source's rejected records."""

    reasons: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    sampled: int = 0

    def add(self, code: str, raw: str) -> None:
        """Count one rejected record (its keys, for the first ``KEY_SAMPLE`` records)."""
        self.reasons[code] += 1
        if self.sampled >= KEY_SAMPLE:
            return
        self.sampled += 1
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):  # the raw text of any reject, however deep
            return
        if isinstance(record, dict):
            self.keys.update(record.keys())

    def common_keys(self) -> list[str]:
        """The records' keys, most common first."""
        return [key for key, _n in self.keys.most_common()]


def keys_tried(field_name: str, mapping: Profile | None) -> list[str]:
    """The keys ingest looked for to fill a standard field."""
    spec = next(f for f in STANDARD_FIELDS if f.name == field_name)
    tried: list[str] = []
    if mapping is not None:
        for target, getters in mapping.fields.items():
            if target == field_name:
                tried.extend(part for g in getters for part in g.parts)
    excluded = mapping.not_standard if mapping is not None else frozenset()
    tried.extend(a for a in spec.aliases if a not in excluded)
    return list(dict.fromkeys(tried))


def refusal_message(name: str, read: int, found: RejectKeys, mapping: Profile | None) -> str:
    """``audit.log: 0 of 757 records stored, all missing_type (tried type, ...; records
    have kind, verb, ...); name the type key with --map type=KEY``."""
    code, count = found.reasons.most_common(1)[0]
    rejected = sum(found.reasons.values())
    share = "all" if count == rejected else f"mostly ({count} of {rejected})"
    text = f"{name}: 0 of {read} records stored, {share} {code}"
    field_name = _FIELD_OF_CODE.get(code)
    if field_name is None:
        return f"{text}; see why with 'mfq rejects --summary'"
    keys = found.common_keys()
    shown = ", ".join(keys[:SHOWN_KEYS]) + (", ..." if len(keys) > SHOWN_KEYS else "")
    tried = ", ".join(keys_tried(field_name, mapping))
    return (
        f"{text} (tried {tried}; records have {shown or 'no keys'}); "
        f"name the {field_name} key with --map {field_name}=KEY"
    )
