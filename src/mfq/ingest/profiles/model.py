"""Format profiles: which keys of a well-known format give mfq's standard fields.

A profile is plain data, written as a small TOML file (the built-in ones live beside this
module, in ``builtin/``; a user passes their own with ``--profile ./file.toml``)::

    name = "cloudtrail"
    description = "AWS CloudTrail"
    container = "the S3 file's Records envelope, or NDJSON"   # documentation only
    not_standard = ["version"]      # keys never read as standard fields

    [detect]                        # how detection recognises one record
    all = ["eventName", "eventSource"]   # every one of these keys
    any = ["eventTime", "eventVersion"]  # at least one of these (or lists of lists)
    none = ["attributes"]                # none of these
    [detect.prefix]                      # key -> its text value starts with this
    apiVersion = "audit.k8s.io/"

    [fields]                        # standard field -> key, [keys...] or "{template}"
    type = "eventName"
    timestamp = ["eventTime", "@timestamp"]
    [defaults]                      # value when none of a field's keys is present
    status = "success"
    [values.severity]               # a key's value (as text) -> the value stored
    "4" = "info"

Keys are dotted paths into nested objects (``userIdentity.arn``); a literal key holding
dots (``log.level``) is found too. A template joins the values of the keys it names with
the text between them, leaving out absent parts (``"{verb} {objectRef.resource}"``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from mfq.errors import UsageError
from mfq.model.fields import STANDARD_FIELDS
from mfq.model.values import DURATION_UNITS

#: Mapping targets beyond the standard fields' names: duration units, and ``actor``.
FIELD_SYNONYMS = {"actor": "actor_profile_id"}
_STANDARD = {f.name for f in STANDARD_FIELDS}
TARGETS = frozenset(_STANDARD | set(DURATION_UNITS) | set(FIELD_SYNONYMS))
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class KeyGetter:
    """Where one standard field's value is read: a key path, or a template of key paths."""

    key: str | None = None
    template: str | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        """The key paths this getter reads."""
        if self.key is not None:
            return (self.key,)
        return tuple(_PLACEHOLDER.findall(self.template or ""))

    @staticmethod
    def parse(text: str) -> KeyGetter:
        """``"{a} {b}"`` is a template, anything else a key path."""
        if _PLACEHOLDER.search(text):
            return KeyGetter(template=text)
        return KeyGetter(key=text)


@dataclass(frozen=True)
class Detection:
    """What one record must look like to belong to a profile."""

    all: tuple[str, ...] = ()
    any: tuple[tuple[str, ...], ...] = ()
    none: tuple[str, ...] = ()
    prefix: Mapping[str, str] = field(default_factory=dict)

    @property
    def specificity(self) -> int:
        """How much a match says: ties between profiles go to the more specific one."""
        return len(self.all) + len(self.any) + len(self.prefix)


@dataclass(frozen=True)
class Profile:
    """One format: its detection rule and which keys give which standard fields."""

    name: str
    description: str = ""
    container: str = ""
    #: Target (a standard field, a duration unit such as ``duration_s``) -> its getters.
    fields: Mapping[str, tuple[KeyGetter, ...]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    not_standard: frozenset[str] = frozenset()
    detect: Detection | None = None
    #: The TOML text the profile was read from (part of a source's identity).
    text: str = ""

    @property
    def maps_fields(self) -> bool:
        """True when the profile changes how standard fields are read."""
        return bool(self.fields or self.defaults or self.values or self.not_standard)

    @property
    def keys_read(self) -> frozenset[str]:
        """Every key path a getter of the profile reads (a template's keys included)."""
        return frozenset(
            part for getters in self.fields.values() for getter in getters for part in getter.parts
        )

    def digest(self) -> str:
        """A short hash of the profile's definition."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def with_maps(self, maps: Mapping[str, str]) -> Profile:
        """This profile with ``--map FIELD=KEY`` overrides (each replaces the field's keys)."""
        fields = dict(self.fields)
        for target, key in maps.items():
            name = FIELD_SYNONYMS.get(target, target)
            for other in [t for t in fields if _field_of(t) == _field_of(name)]:
                del fields[other]  # a duration unit replaces another unit's keys too
            fields[name] = (KeyGetter.parse(key),)
        return replace(self, fields=fields)


def _field_of(target: str) -> str:
    return "duration_ms" if target in DURATION_UNITS else FIELD_SYNONYMS.get(target, target)


def field_of(target: str) -> str:
    """The standard field a mapping target fills (``duration_s`` fills ``duration_ms``)."""
    return _field_of(target)


def profile_from_toml(text: str, origin: str) -> Profile:
    """Parse a profile file; any mistake is a usage error naming ``origin``."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(f"{origin}: not a valid TOML profile: {err}") from None
    try:
        return _profile(data, text)
    except (TypeError, ValueError) as err:
        raise UsageError(f"{origin}: {err}") from None


def _profile(data: dict[str, object], text: str) -> Profile:
    known = {"name", "description", "container", "not_standard", "detect", "fields"}
    known |= {"defaults", "values"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown profile key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a profile needs a name")
    fields: dict[str, tuple[KeyGetter, ...]] = {}
    for written, spec in _table(data, "fields").items():
        target = FIELD_SYNONYMS.get(written, written)
        _check_target(target)
        keys = [spec] if isinstance(spec, str) else spec
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"fields.{target}: expected a key or a list of keys")
        fields[target] = tuple(KeyGetter.parse(k) for k in keys)
    defaults = {
        FIELD_SYNONYMS.get(k, k): _text(v, f"defaults.{k}")
        for k, v in _table(data, "defaults").items()
    }
    for target in defaults:
        _check_target(target)
    values: dict[str, dict[str, str]] = {}
    for written, table in _table(data, "values").items():
        target = FIELD_SYNONYMS.get(written, written)
        _check_target(target)
        if not isinstance(table, dict):
            raise ValueError(f"values.{target}: expected a table of value = value")
        values[target] = {str(k): _text(v, f"values.{target}") for k, v in table.items()}
    return Profile(
        name=name,
        description=_text(data.get("description", ""), "description"),
        container=_text(data.get("container", ""), "container"),
        fields=fields,
        defaults=defaults,
        values=values,
        not_standard=frozenset(_strings(data.get("not_standard", []), "not_standard")),
        detect=_detection(data["detect"]) if "detect" in data else None,
        text=text,
    )


def _detection(raw: object) -> Detection:
    if not isinstance(raw, dict):
        raise ValueError("detect: expected a table")
    unknown = sorted(set(raw) - {"all", "any", "none", "prefix"})
    if unknown:
        raise ValueError(f"unknown detect key {unknown[0]!r}")
    any_raw = raw.get("any", [])
    if not isinstance(any_raw, list):
        raise ValueError("detect.any: expected a list")
    groups: list[tuple[str, ...]] = []
    if any_raw and all(isinstance(item, str) for item in any_raw):
        groups.append(tuple(any_raw))
    else:
        groups.extend(tuple(_strings(item, "detect.any")) for item in any_raw)
    prefix = raw.get("prefix", {})
    if not isinstance(prefix, dict):
        raise ValueError("detect.prefix: expected a table of key = prefix")
    return Detection(
        all=tuple(_strings(raw.get("all", []), "detect.all")),
        any=tuple(groups),
        none=tuple(_strings(raw.get("none", []), "detect.none")),
        prefix={str(k): _text(v, "detect.prefix") for k, v in prefix.items()},
    )


def _check_target(target: str) -> None:
    if target not in TARGETS:
        raise ValueError(f"{target!r} is not a standard field (nor duration_s/us/ns or actor)")


def _table(data: dict[str, object], key: str) -> dict[str, object]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{key}: expected a table")
    return value


def _text(value: object, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{where}: expected text")
    return str(value)


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of keys")
    return list(value)
