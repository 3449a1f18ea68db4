"""Turning event columns into NDJSON lines, fast.

Most of a line is looked up, not formatted: every categorical part (the project and its
org, the actor and its device, the service/version/region, the outcome with its HTTP
fields and message) is a precomputed bytes fragment picked by index. What is left per
line is one ``%`` with a dozen arguments, which is what makes a million lines take
seconds. Fragments of text are JSON-encoded when the tables are built; per-event values
are numbers, hex digits and generated ASCII names, which need no escaping.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mfq.demo.catalog import (
    CLIENT_ERRORS,
    ENVIRONMENTS,
    EVENT_TYPES,
    FAILURES,
    INCIDENT_FAILURE,
    ORGS,
    REGIONS,
    SERVICES,
)
from mfq.demo.sampling import EventColumns, U64Array
from mfq.demo.world import (
    DAY_MS,
    MAX_VERSIONS,
    OUTCOME_CLIENT,
    OUTCOME_FAILURE,
    OUTCOME_SLOW,
    OUTCOMES,
    FloatArray,
    IntArray,
    World,
    from_ms,
)

ObjectArray = npt.NDArray[np.object_]
ByteMatrix = npt.NDArray[np.uint8]

LINE = (
    b'{"id": "ev_%012d", "type": "%s", "timestamp": "%s", %s, %s, '
    b'"attributes": {%s, "duration_ms": %.1f, %s%s%s%s%s}}\n'
)

#: Lines joined into one block of output.
BLOCK_LINES = 8192

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


def _unit(keys: U64Array, salt: int) -> FloatArray:
    """A uniform [0, 1) number per key, different for each salt (a multiplicative hash)."""
    mixed = (keys ^ np.uint64((salt * 0x632BE59BD9B4E019) % 2**64)) * np.uint64(0x9E3779B97F4A7C15)
    mixed ^= mixed >> np.uint64(29)
    return (mixed >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _ints(values: FloatArray) -> list[int]:
    ints: list[int] = values.astype(np.int64).tolist()
    return ints


def _floats(values: FloatArray, digits: int) -> list[float]:
    floats: list[float] = values.round(digits).tolist()
    return floats


def _pick(options: str, salt: int) -> Callable[[U64Array, IntArray], list[bytes]]:
    """Values drawn evenly from the space-separated ``options``."""
    table = np.array([option.encode() for option in options.split()], dtype=np.object_)

    def values(keys: U64Array, region: IntArray) -> list[bytes]:
        picked: list[bytes] = table[(_unit(keys, salt) * len(table)).astype(np.int64)].tolist()
        return picked

    return values


def _currency(keys: U64Array, region: IntArray) -> list[bytes]:
    table = np.array([r.currency.encode() for r in REGIONS], dtype=np.object_)
    picked: list[bytes] = table[region].tolist()
    return picked


ExtraValues = Callable[[U64Array, IntArray], list[int] | list[float] | list[bytes]]

#: Type-specific attributes: name -> (JSON fragment with one % placeholder, values).
#: Values derive from the event's key, so a trace's spans share an order id or a sku.
EXTRA_FIELDS: dict[str, tuple[bytes, ExtraValues]] = {
    "sku": (b'"sku": "sku_%05d"', lambda k, r: _ints(5000 * _unit(k, 1) ** 2)),
    "results_count": (b'"results_count": %d', lambda k, r: _ints(200 * _unit(k, 2) ** 3)),
    "query_length": (b'"query_length": %d', lambda k, r: _ints(1 + 39 * _unit(k, 3))),
    "cart_items": (b'"cart_items": %d', lambda k, r: _ints(1 + 11 * _unit(k, 4) ** 2)),
    "quantity": (b'"quantity": %d', lambda k, r: _ints(1 + 4 * _unit(k, 5) ** 2)),
    "order_id": (b'"order_id": "ord_%08d"', lambda k, r: _ints(1e8 * _unit(k, 6))),
    "amount": (b'"amount": %.2f', lambda k, r: _floats(5 + 495 * _unit(k, 7) ** 2, 2)),
    "currency": (b'"currency": "%s"', _currency),
    "payment_method": (b'"payment_method": "%s"', _pick("card paypal apple_pay klarna", 8)),
    "auth_method": (b'"auth_method": "%s"', _pick("password sso magic_link", 9)),
    "risk_score": (b'"risk_score": %.3f', lambda k, r: _floats(_unit(k, 10), 3)),
    "carrier": (b'"carrier": "%s"', _pick("dhl ups fedex postnl", 11)),
    "coupon_code": (b'"coupon_code": "%s"', _pick("WELCOME10 FREESHIP BF2026 VIP20", 12)),
    "template": (b'"template": "%s"', _pick("order_confirmation shipping_update welcome", 13)),
    "device": (b'"device": "%s"', _pick("ios android web", 14)),
}


def _http_status_ok(method: str, name: str) -> int:
    created = name.endswith((".created", ".signup", ".issued", ".item_added"))
    return 201 if method == "POST" and created else 200


@dataclass(frozen=True)
class _Endpoint:
    type_name: str
    method: str | None
    route: str | None
    message: str


def _endpoints(world: World) -> list[_Endpoint]:
    """The event types' own endpoints, then each trace template's gateway route."""
    endpoints = [_Endpoint(t.name, t.method, t.route, t.message) for t in EVENT_TYPES]
    for shape in world.shapes:
        template = shape.template
        message = f"{template.method} {template.route} served"
        endpoints.append(_Endpoint("http.request", template.method, template.route, message))
    return endpoints


def _outcome_fragment(endpoint: _Endpoint, outcome: int) -> bytes:
    """Status, severity, HTTP fields, error code and message of one endpoint's outcome."""
    status, severity, message = "ok", "info", endpoint.message
    http_status = (
        200 if endpoint.method is None else _http_status_ok(endpoint.method, endpoint.type_name)
    )
    error_code = None
    if outcome == OUTCOME_SLOW:
        severity, message = "warn", f"slow response: {endpoint.message}"
    elif OUTCOME_CLIENT <= outcome < OUTCOME_FAILURE:
        client = CLIENT_ERRORS[outcome - OUTCOME_CLIENT]
        status, severity, http_status = "rejected", "warn", client.http_status
        message = f"request rejected: {client.description}"
    elif outcome >= OUTCOME_FAILURE:
        failure = (*FAILURES, INCIDENT_FAILURE)[outcome - OUTCOME_FAILURE]
        status, severity, http_status, error_code = (
            "error",
            "error",
            failure.http_status,
            failure.code,
        )
        message = f"{endpoint.type_name} failed: {failure.description}"
    pairs: list[tuple[str, object]] = [("status", status), ("severity", severity)]
    if endpoint.method is not None:
        pairs += [("http.route", endpoint.route), ("http_status", http_status)]
    if error_code is not None:
        pairs.append(("error_code", error_code))
    pairs.append(("message", message))
    return _members(pairs)


def _members(pairs: list[tuple[str, object]]) -> bytes:
    """``"key": value, ...`` as JSON (the fragment goes inside an object)."""
    return ", ".join(f"{json.dumps(key)}: {json.dumps(value)}" for key, value in pairs).encode()


def _object_array(items: list[bytes]) -> ObjectArray:
    array = np.empty(len(items), dtype=np.object_)
    array[:] = items
    return array


class FragmentTables:
    """Precomputed bytes fragments of a world, indexed like the event columns."""

    def __init__(self, world: World) -> None:
        config = world.config
        self.type_names = _object_array([t.name.encode() for t in EVENT_TYPES])
        self.projects = _object_array(
            [
                self._project(number, int(world.project_ids[number]), config.projects)
                for number in range(config.projects)
            ]
        )
        self.actors = _object_array([self._actor(number, world) for number in range(config.actors)])
        self.users = _object_array(
            [b""] + [b', "user_id": "usr_%06d"' % user for user in range(config.users)]
        )
        self.placements = _object_array(self._placements(world))
        endpoints = _endpoints(world)
        self.outcomes = _object_array(
            [
                _outcome_fragment(endpoint, outcome)
                for endpoint in endpoints
                for outcome in range(OUTCOMES)
            ]
        )
        self.extras = [self._extra_template(t.extras) for t in EVENT_TYPES]

    @staticmethod
    def _project(number: int, project_id: int, projects: int) -> bytes:
        share = number / projects
        org = ORGS[0] if share < 0.7 else ORGS[1] if share < 0.9 else ORGS[2]
        return b'"org_id": "%s", "project_id": %d' % (org.encode(), project_id)

    @staticmethod
    def _actor(number: int, world: World) -> bytes:
        device = uuid.UUID(bytes=world.actor_device[number].tobytes(), version=4)
        return b'"actor_profile_id": "act_%04d", "client_uuid": "%s"' % (
            number,
            str(device).encode(),
        )

    @staticmethod
    def _placements(world: World) -> list[bytes]:
        """Service, environment, version and region, for every combination of indices."""
        fragments = []
        for service, versions in zip(SERVICES, world.versions, strict=True):
            for environment in ENVIRONMENTS:
                for level in range(MAX_VERSIONS):
                    version = versions[min(level, len(versions) - 1)]
                    fragments += [
                        _members(
                            [
                                ("service", service.name),
                                ("environment", environment),
                                ("version", version),
                                ("region", region.name),
                            ]
                        )
                        for region in REGIONS
                    ]
        return fragments

    @staticmethod
    def _extra_template(names: tuple[str, ...]) -> bytes:
        return b"".join(b", " + EXTRA_FIELDS[name][0] for name in names)

    def placement_index(self, columns: EventColumns) -> IntArray:
        """Index into :attr:`placements` of each event."""
        index = columns.service * len(ENVIRONMENTS) + columns.environment
        index = index * MAX_VERSIONS + columns.version
        return index * len(REGIONS) + columns.region


def hex_digits(values: U64Array) -> ByteMatrix:
    """The 16 lower-case hex digits of each 64-bit value, one row per value."""
    octets = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    digits = np.empty((len(values), 16), dtype=np.uint8)
    digits[:, 0::2] = _HEX_DIGITS[octets >> 4]
    digits[:, 1::2] = _HEX_DIGITS[octets & 15]
    return digits


def hex_strings(values: U64Array) -> list[str]:
    """The 16-digit hex text of each 64-bit value."""
    return [row.decode() for row in _rows(hex_digits(values))]


def _rows(matrix: ByteMatrix) -> list[bytes]:
    """Each row of a byte matrix as bytes (rows must not end in NUL)."""
    if matrix.shape[0] == 0:
        return []
    rows: list[bytes] = np.ascontiguousarray(matrix).view(f"S{matrix.shape[1]}").ravel().tolist()
    return rows


def _literal(text: bytes, rows: int) -> ByteMatrix:
    return np.broadcast_to(np.frombuffer(text, dtype=np.uint8), (rows, len(text)))


def timestamps(timestamp_ms: IntArray) -> list[bytes]:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of each epoch-millisecond time."""
    count = len(timestamp_ms)
    days, rest = np.divmod(timestamp_ms, DAY_MS)
    first = int(days.min()) if count else 0
    dates = np.array(
        [
            from_ms(day * DAY_MS).strftime("%Y-%m-%dT").encode()
            for day in range(first, int(days.max()) + 1 if count else first)
        ],
        dtype="S11",
    )
    text = np.empty((count, 24), dtype=np.uint8)
    text[:, :11] = dates.view(np.uint8).reshape(-1, 11)[days - first]
    fields = ((11, rest // 3_600_000, 2), (14, rest // 60_000 % 60, 2), (17, rest // 1000 % 60, 2))
    for position, value, width in (*fields, (20, rest % 1000, 3)):
        for digit in range(width):
            text[:, position + digit] = _DIGITS[value // 10 ** (width - 1 - digit) % 10]
    text[:, 13] = text[:, 16] = ord(":")
    text[:, 19] = ord(".")
    text[:, 23] = ord("Z")
    return _rows(text)


def trace_fragments(columns: EventColumns) -> ObjectArray:
    """``, "trace_id": ..., "span_id": ...[, "parent_span_id": ...]`` per event, or b""."""
    fragments = np.full(len(columns), b"", dtype=np.object_)
    for has_parent in (False, True):
        rows = np.flatnonzero(columns.traced & ((columns.parent != 0) == has_parent))
        if rows.size == 0:
            continue
        pieces = [
            _literal(b', "trace_id": "', rows.size),
            hex_digits(columns.trace_hi[rows]),
            hex_digits(columns.trace_lo[rows]),
            _literal(b'", "span_id": "', rows.size),
            hex_digits(columns.span[rows]),
            _literal(b'"', rows.size),
        ]
        if has_parent:
            pieces += [
                _literal(b', "parent_span_id": "', rows.size),
                hex_digits(columns.parent[rows]),
                _literal(b'"', rows.size),
            ]
        fragments[rows] = _rows(np.hstack(pieces))
    return fragments


def journey_fragments(columns: EventColumns) -> ObjectArray:
    """``, "correlation_id": "ord-..."`` for the steps of order journeys, else b""."""
    fragments = np.full(len(columns), b"", dtype=np.object_)
    rows = np.flatnonzero(columns.journey)
    if rows.size:
        fragments[rows] = [
            b', "correlation_id": "ord-%010d"' % number for number in columns.journey[rows].tolist()
        ]
    return fragments


def extra_fragments(tables: FragmentTables, columns: EventColumns) -> ObjectArray:
    """The type-specific attributes of each event, as a fragment starting with ``, ``."""
    fragments = np.full(len(columns), b"", dtype=np.object_)
    for number, template in enumerate(tables.extras):
        rows = np.flatnonzero(columns.event_type == number)
        if not template or rows.size == 0:
            continue
        keys, region = columns.key[rows], columns.region[rows]
        values = [EXTRA_FIELDS[name][1](keys, region) for name in EVENT_TYPES[number].extras]
        fragments[rows] = [template % row for row in zip(*values, strict=True)]
    return fragments


def encode(tables: FragmentTables, columns: EventColumns, ids: IntArray) -> list[bytes]:
    """The NDJSON lines of ``columns`` with the event numbers ``ids``, in blocks of lines.

    Blocks of a few megabytes are cheaper to join and write than one big one.
    """
    arguments = zip(
        ids.tolist(),
        tables.type_names[columns.event_type].tolist(),
        timestamps(columns.timestamp_ms),
        tables.projects[columns.project].tolist(),
        tables.actors[columns.actor].tolist(),
        tables.placements[tables.placement_index(columns)].tolist(),
        columns.duration_ms.tolist(),
        tables.outcomes[columns.endpoint * OUTCOMES + columns.outcome].tolist(),
        trace_fragments(columns).tolist(),
        tables.users[columns.user + 1].tolist(),
        extra_fragments(tables, columns).tolist(),
        journey_fragments(columns).tolist(),
        strict=True,
    )
    lines = [LINE % row for row in arguments]
    return [b"".join(lines[at : at + BLOCK_LINES]) for at in range(0, len(lines), BLOCK_LINES)]
