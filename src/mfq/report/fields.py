"""Which fields the report can use on this data: those present in the period, and the
breakdown fields (the standard ones, else the most useful low-cardinality ones).

A report must hold on data nobody here generated: network logs have no ``service``, audit
logs no ``status``. A field the store merely knows (the standard fields always are) is not
enough; every section checks that the period's events carry it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from mfq.analysis.journeys import STANDARD_KEYS
from mfq.query.build import build_spec
from mfq.query.expr.text import name_text
from mfq.query.spec import QueryKind
from mfq.report.releases import MESSAGE_FIELD, VERSION_FIELD

if TYPE_CHECKING:
    from mfq.query.expr import FieldType
    from mfq.query.source import QuerySource
    from mfq.report.context import ReportContext
    from mfq.report.settings import ReportSettings

#: The "errors" filter when there is nothing to judge errors by: true of no event (every
#: event has a timestamp), so the error counts are zero and the sections say why.
NO_ERRORS = "timestamp is null"
#: Never breakdown fields: identity, times and trace plumbing.
_NOT_BREAKDOWNS = frozenset(
    {"id", "type", "timestamp", "received_at", "trace_id", "span_id", "parent_span_id"}
    | {"correlation_id", "client_uuid", "org_id", "project_id", "actor_profile_id"}
)
_BREAKDOWN_TYPES = frozenset({"string", "integer", "boolean"})


def _candidates(
    types: Mapping[str, FieldType], settings: ReportSettings, wanted: Sequence[str]
) -> list[str]:
    names = [
        "type",
        settings.errors_field,
        settings.latency_field,
        settings.actor_field,
        settings.slo_by,
        *(key for keys in settings.breakdowns for key in keys),
        *(signal.by for signal in settings.anomaly_signals),
        VERSION_FIELD,
        MESSAGE_FIELD,
        settings.journey_key or "",
        *STANDARD_KEYS,  # the Journeys section's key
        *wanted,
    ]
    return [name for name in dict.fromkeys(names) if name in types]


def fields_present(
    store: QuerySource,
    since: str,
    until: str,
    where: Sequence[str],
    types: Mapping[str, FieldType],
    settings: ReportSettings,
    wanted: Sequence[str],
    unweighted: bool,
) -> set[str]:
    """The fields the report's sections use that some event from ``since`` to ``until``
    carries (one small aggregate query); without events, those the store's files hold."""
    names = _candidates(types, settings, wanted)
    aggs = ["count as events"]
    aggs += [f"count(exists({name_text(name)})) as f{i}" for i, name in enumerate(names)]
    spec = build_spec(
        store,
        QueryKind.AGGREGATE,
        where=list(where),
        aggs=aggs,
        since=since,
        until=until,
        unweighted=unweighted,
    )
    row = store.run(spec).iloc[0]
    if not int(row["events"] or 0):
        # Nothing to look at in these periods: the fields the store's files hold.
        return {name for name in names if name in store.catalog.field_types()} | {"type"}
    return {name for i, name in enumerate(names) if int(row[f"f{i}"] or 0) > 0}


def breakdowns(
    store: QuerySource, context: ReportContext, wanted: Sequence[str]
) -> tuple[tuple[str, ...], ...]:
    """``--by``'s fields one each; else the standard breakdowns whose fields are present;
    else the ``fallback_breakdowns`` most useful low-cardinality fields (the most often
    present, then the fewest values; a copy of ``type`` under another name, and fields
    with fewer than ``min_events_per_value`` events a value, left out)."""
    if wanted:
        return tuple((name,) for name in wanted)
    settings = context.settings
    standard = tuple(
        keys for keys in settings.breakdowns if all(context.has_field(k) for k in keys)
    )
    if standard:
        return standard
    schema = store.schema()
    events = int(store.info()["events"])
    # Values that each stand for several events: 50 GitHub events with 50 avatars is an
    # identifier, not a breakdown.
    carriers = schema["present"] / 100.0 * events
    rows = schema[
        (schema["present"] > 0)
        & schema["type"].isin(_BREAKDOWN_TYPES)
        & schema["distinct"].between(2, settings.max_breakdown_values)
        & (schema["distinct"] * settings.min_events_per_value <= carriers)
        & ~schema["field"].isin(_NOT_BREAKDOWNS)
        & ~schema["mixed"]
    ]
    type_values = schema.loc[schema["field"] == "type", "top_values"]
    if len(type_values):
        same = type_values.iloc[0]
        rows = rows[rows["top_values"].map(lambda values: list(values) != list(same)).astype(bool)]
    rows = rows.sort_values(["present", "distinct", "field"], ascending=[False, True, True])
    chosen = tuple((str(name),) for name in rows["field"].head(settings.fallback_breakdowns))
    context.present = context.present | {keys[0] for keys in chosen}
    return chosen
