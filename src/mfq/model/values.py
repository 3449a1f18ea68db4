"""Scalar rules for standard-field values, shared by the pydantic model and the fast path.

Each rule exists once here; ``mfq.ingest.fastpath`` implements the same rules vectorised
and a property test proves both accept, reject and produce exactly the same values.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal

#: ISO-8601 forms we accept: date, 'T' or space, hh:mm[:ss[.fraction]], optional zone.
ISO_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?P<sep>[T ])(?P<h>\d{2}):(?P<m>\d{2})"
    r"(?::(?P<s>\d{2})(?:\.(?P<frac>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
#: Manufactory's own TIMESTAMP text (``2023-02-08 17:13:26``): UTC by definition, no warning.
MANUFACTORY_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

NS_PER_SECOND = 1_000_000_000
#: Epoch numbers are read by magnitude: below 1e11 seconds, then ms, µs, ns.
EPOCH_UNIT_LIMITS: tuple[tuple[float, int], ...] = (
    (1e11, NS_PER_SECOND),
    (1e14, 1_000_000),
    (1e17, 1_000),
)
#: Storage is nanoseconds since the epoch in an int64: about 1677-09-22 .. 2262-04-11.
MIN_NS = -(2**63) + 1
MAX_NS = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

SEVERITY_ALIASES: dict[str, str] = {
    "trace": "debug",
    "debug": "debug",
    "dbg": "debug",
    "verbose": "debug",
    "info": "info",
    "information": "info",
    "informational": "info",
    "notice": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
    "err": "error",
    "fatal": "fatal",
    "critical": "fatal",
    "crit": "fatal",
    "alert": "fatal",
    "emergency": "fatal",
    "emerg": "fatal",
    "panic": "fatal",
}

#: Duration aliases: (operator, factor) turning the alias's unit into milliseconds.
DURATION_UNITS: dict[str, tuple[str, float]] = {
    "duration_ms": ("*", 1.0),
    "duration_s": ("*", 1000.0),
    "duration_us": ("/", 1000.0),
    "duration_ns": ("/", 1_000_000.0),
}


class ValueRuleError(ValueError):
    """A standard-field value breaks the model's rules; the message is the reject reason."""


def json_type_name(value: object) -> str:
    """The JSON type of a decoded value, as reject reasons name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def text_value(value: object) -> str:
    """Text fields take strings, and whole numbers as their decimal text."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueRuleError(f"expected text, got {json_type_name(value)}")


def epoch_factor(magnitude: int | float) -> int:
    """Nanoseconds per unit of an epoch number of this magnitude (s, ms, µs or ns)."""
    for limit, unit_factor in EPOCH_UNIT_LIMITS:
        if magnitude < limit:
            return unit_factor
    return 1


def epoch_to_ns(value: int | float) -> int:
    """Epoch seconds/ms/µs/ns (chosen by magnitude) to integer nanoseconds.

    A decoded JSON number that kept its text (``mfq.ingest.record.ExactFloat``) is
    converted from that decimal text, so ``1588205198.89971`` is ``.899710000`` exactly."""
    factor = epoch_factor(abs(value))
    text = getattr(value, "text", None)  # the JSON text of a number with a fraction
    if isinstance(value, int):
        ns = value * factor
    elif isinstance(text, str):
        ns = int((Decimal(text) * factor).to_integral_value(ROUND_HALF_EVEN))
    else:
        ns = round(value * float(factor))
    if not MIN_NS <= ns <= MAX_NS:
        raise ValueRuleError("timestamp out of range")
    return int(ns)


def parse_timestamp_text(text: str, assume_tz: tzinfo | None) -> tuple[int, bool]:
    """ISO-8601 text to (UTC nanoseconds, was_naive). Naive times use ``assume_tz``.

    Manufactory's ``yyyy-mm-dd HH:MM:SS`` is UTC by definition (so never counted as
    naive), unless ``assume_tz`` says otherwise: the option applies to every naive time.
    """
    match = ISO_TIMESTAMP.match(text)
    if match is None:
        raise ValueRuleError(f"unparseable timestamp {text[:40]!r}")
    manufactory = MANUFACTORY_TIMESTAMP.match(text) is not None
    try:
        base = datetime.fromisoformat(
            f"{match['date']}T{match['h']}:{match['m']}:{match['s'] or '00'}"
        )
    except ValueError as err:
        raise ValueRuleError(f"unparseable timestamp {text[:40]!r}") from err
    zone = match["zone"]
    naive = zone is None and not manufactory
    if zone is None:
        tz: tzinfo = UTC if assume_tz is None else assume_tz
        aware = base.replace(tzinfo=tz)
        if tz is not UTC:
            # Resolve the wall time in the zone (DST-aware) and express it in UTC.
            aware = aware.astimezone(UTC)
    else:
        aware = base.replace(tzinfo=_fixed_offset(zone, text))
    frac = match["frac"] or ""
    fraction_ns = int(frac.ljust(9, "0")) if frac else 0
    delta = aware - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + fraction_ns
    if not MIN_NS <= ns <= MAX_NS:
        raise ValueRuleError("timestamp out of range")
    return ns, naive


def _fixed_offset(zone: str, text: str) -> tzinfo:
    from datetime import timezone

    if zone == "Z":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueRuleError(f"unparseable timestamp {text[:40]!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def timestamp_ns(value: object, assume_tz: tzinfo | None) -> tuple[int, bool]:
    """Any accepted timestamp value to (UTC nanoseconds, was_naive)."""
    if isinstance(value, bool):
        raise ValueRuleError("expected a time, got boolean")
    if isinstance(value, int | float):
        return epoch_to_ns(value), False
    if isinstance(value, str):
        return parse_timestamp_text(value, assume_tz)
    raise ValueRuleError(f"expected a time, got {json_type_name(value)}")


def severity_value(value: object) -> tuple[str, bool]:
    """Severity normalised to debug/info/warn/error/fatal; (value, recognised)."""
    text = text_value(value).strip().lower()
    normalised = SEVERITY_ALIASES.get(text)
    return (normalised, True) if normalised is not None else (text, False)


def duration_ms_value(value: object, alias: str) -> float:
    """A duration under any alias, in milliseconds (float ≥ 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueRuleError(f"expected a number, got {json_type_name(value)}")
    operator, factor = DURATION_UNITS[alias]
    ms = float(value) * factor if operator == "*" else float(value) / factor
    if ms < 0:
        raise ValueRuleError("must not be negative")
    return ms + 0.0  # (-0.0 made 0.0: a zero is stored unsigned)


def whole_number(value: object) -> int:
    """Integers, and numbers with no fractional part."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueRuleError(f"expected a whole number, got {json_type_name(value)}")
    if isinstance(value, float):
        if not value.is_integer() or abs(value) >= 2**63:
            raise ValueRuleError("expected a whole number")
        return int(value)
    return value
