"""The report's "Changes and new error patterns" section: the releases of the period
(``changes``: rollouts, rollbacks, each with the error ratio before and after) and the
error message templates that are new against the previous period (``patterns``); and the
highlights that name them, with correlate's top combination of values."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from mfq.analysis.changes import ChangesRequest, changes
from mfq.analysis.patterns import PatternsRequest, patterns
from mfq.report.context import Call, ReportContext
from mfq.report.format import format_time, format_value
from mfq.report.model import Column, ColumnKind, Paragraph, Section, Span, Table, paragraph
from mfq.report.prose import NOT_JUDGED

if TYPE_CHECKING:
    import pandas as pd

#: The changes a report lists (steady and retired values are context, not news).
LISTED_KINDS = ("rollout", "rollback", "marker")
#: The field releases are inferred from, and the message field templates are found in.
VERSION_FIELD = "version"
MESSAGE_FIELD = "message"
#: Rows of each table.
ROWS = 10


def calls(context: ReportContext) -> list[Call[Any]]:
    """The ``changes`` and ``patterns`` calls of the period (those the store has fields
    for): ``changes`` of the period with the report's errors as bad events, ``patterns``
    of the period's errors against the previous period's."""
    found: list[Call[Any]] = []
    selection = context.selection(context.current)
    if context.has_field(VERSION_FIELD):
        found.append(
            Call("changes", changes, ChangesRequest(selection=selection, bad=context.errors))
        )
    if context.has_field(MESSAGE_FIELD):
        found.append(
            Call(
                "changes",
                patterns,
                PatternsRequest(
                    selection=selection.narrowed(context.errors),
                    baseline_since=context.previous.since,
                    baseline_until=context.previous.until,
                ),
            )
        )
    return found


def tables(context: ReportContext, results: list[pd.DataFrame]) -> tuple[Table, Table]:
    """The changes table and the new error patterns table, from ``calls``' results."""
    answers = iter(results)
    changes = next(answers) if context.has_field(VERSION_FIELD) else None
    patterns = next(answers) if context.has_field(MESSAGE_FIELD) else None
    return change_table(changes), new_pattern_table(patterns)


def change_table(frame: pd.DataFrame | None) -> Table:
    """Rollouts, rollbacks and markers of the period, in time order."""
    import pandas as pd

    columns = (
        Column("where", "where"),
        Column("value", "version"),
        Column("kind", "kind"),
        Column("first_seen", "arrived", ColumnKind.TIME),
        Column("last_seen", "last seen", ColumnKind.TIME),
        Column("bad_ratio_before", "errors before", ColumnKind.RATIO),
        Column("bad_ratio_after", "errors after", ColumnKind.RATIO),
        Column("shift", "shift"),
    )
    names = [column.name for column in columns]
    listed = frame[frame["kind"].isin(LISTED_KINDS)].copy() if frame is not None else None
    if frame is None or listed is None or not len(listed):
        return Table("changes", "Changes", columns, pd.DataFrame({name: [] for name in names}))
    groups = list(frame.columns[: list(frame.columns).index("kind") - 1])
    value = frame.columns[len(groups)]
    # Group keys can be numbers (Zeek's numeric fields): text before filling the gaps.
    keys = listed[groups].astype(object).fillna("—").astype(str)
    listed["where"] = keys.agg(" ".join, axis=1) if groups else ""
    listed["value"] = listed[value].astype(str)
    # Rollbacks first, then changes after which errors rose, then the rest, in time order.
    listed["_order"] = (listed["kind"] != "rollback").astype(int) + (
        listed["shift"] != "worse"
    ).astype(int)
    listed = listed.sort_values(["_order", "first_seen"], kind="stable")
    from mfq.model.answer import answer

    shown = answer(listed[names].head(ROWS).reset_index(drop=True), total_rows=len(listed))
    note = f"{ROWS} of {len(listed)} changes: rollbacks and those after which errors rose first"
    return Table("changes", "Changes", columns, shown, note=note if len(listed) > ROWS else None)


def new_pattern_table(frame: pd.DataFrame | None) -> Table:
    """Error message templates seen this period and not in the previous one."""
    import pandas as pd

    columns = (
        Column("template", "template"),
        Column("count", "errors", ColumnKind.COUNT),
        Column("first_seen", "first seen", ColumnKind.TIME),
        Column("services", "services"),
        Column("id", "id"),
    )
    names = [column.name for column in columns]
    if frame is None or not len(frame) or "change" not in frame.columns:
        empty = pd.DataFrame({name: [] for name in names})
        return Table("new_patterns", "New error patterns", columns, empty)
    if not float(frame["baseline_count"].sum()):
        # Nothing before to compare with: every template would read "new".
        empty = pd.DataFrame({name: [] for name in names})
        return Table("new_patterns", "New error patterns", columns, empty)
    new = frame[frame["change"] == "new"]
    shown = new[names].head(ROWS).reset_index(drop=True)
    note = f"the {ROWS} largest of {len(new)} new patterns" if len(new) > ROWS else None
    return Table("new_patterns", "New error patterns", columns, shown, note=note)


def section(changes: Table, patterns: Table, zone: tzinfo, *, judged: bool = True) -> Section:
    """The section, with a paragraph that says what its tables hold (``judged`` False:
    the period has no events, and the section says so rather than "no change")."""
    paragraphs = (
        (_change_paragraph(changes, zone), _pattern_paragraph(patterns))
        if judged
        else (paragraph(NOT_JUDGED),)
    )
    return Section(
        "changes",
        "Changes and new error patterns",
        paragraphs=paragraphs,
        tables=tuple(table for table in (changes, patterns) if len(table.frame)),
    )


def _change_paragraph(table: Table, zone: tzinfo) -> Paragraph:
    frame = table.frame
    if not len(frame):
        return paragraph("No version arrived or was rolled back this period.")
    rollbacks = frame[frame["kind"] == "rollback"]
    from mfq.model.answer import answer

    total = answer(frame).total_rows or len(frame)
    lead = f"{total} change{'s' if total != 1 else ''} this period"
    if not len(rollbacks):
        return paragraph(lead + "; none was rolled back.")
    row = rollbacks.iloc[0]
    return paragraph(
        lead + "; ",
        Span(str(row["value"]), code=True),
        " in ",
        Span(str(row["where"]), code=True),
        f" arrived at {format_time(row['first_seen'], zone)} and was rolled back at "
        f"{format_time(row['last_seen'], zone)} (errors "
        f"{format_value(row['bad_ratio_before'], ColumnKind.RATIO)} before, "
        f"{format_value(row['bad_ratio_after'], ColumnKind.RATIO)} after).",
    )


def _pattern_paragraph(table: Table) -> Paragraph:
    frame = table.frame
    if not len(frame):
        return paragraph("No error message template is new against the previous period.")
    top = frame.iloc[0]
    count = len(frame)
    lead = "One new error pattern: " if count == 1 else f"{count} new error patterns; the largest: "
    return paragraph(
        lead,
        Span(str(top["template"]), code=True),
        f" ({format_value(top['count'], ColumnKind.COUNT)} errors).",
    )


def highlight_items(
    changes: Table, patterns: Table, correlation: Table, zone: tzinfo
) -> list[Paragraph]:
    """Highlights: rollbacks, new error patterns, correlate's top combination."""
    items = []
    if len(changes.frame[changes.frame["kind"] == "rollback"]) if len(changes.frame) else False:
        items.append(_change_paragraph(changes, zone))
    if len(patterns.frame):
        items.append(_pattern_paragraph(patterns))
    combined = _top_combination(correlation.frame)
    if combined is not None:
        items.append(combined)
    return items


def _top_combination(frame: pd.DataFrame) -> Paragraph | None:
    """Correlate's best combination of values, when it has one."""
    if not len(frame) or "kind" not in frame.columns:
        return None
    found = frame[frame["kind"].isin(["interaction", "combination"])]
    if not len(found):
        return None
    row = found.iloc[0]
    fields = str(row["field"]).split(", ")
    values = str(row["value"]).split(", ")
    condition = " and ".join(f"{f} = {v}" for f, v in zip(fields, values, strict=False))
    share = format_value(row["selection_share"], ColumnKind.RATIO)
    baseline = format_value(row["baseline_share"], ColumnKind.RATIO)
    what = (
        "an interaction: together they explain far more than either alone"
        if (row["kind"] == "interaction")
        else "a combination"
    )
    return paragraph(
        "Correlate's top combination: the errors come with ",
        Span(condition, code=True),
        f" ({share} against {baseline}), {what}.",
    )


def add_to(
    sections: tuple[Section, ...],
    context: ReportContext,
    results: list[pd.DataFrame],
    correlation: Table,
    *,
    judged: bool = True,
) -> tuple[Section, ...]:
    """``sections`` with this module's section after correlate's and its highlights
    appended to the highlights (``judged`` False: the period has no events)."""
    from dataclasses import replace

    from mfq.report.format import zone_of

    zone = zone_of(context.tz)
    changes, patterns = tables(context, results)
    inferred = results[0] if context.has_field(VERSION_FIELD) else None
    after = _after_changes(sections, inferred)
    found: list[Section] = []
    for given in sections:
        existing = given
        if existing.key == "highlights":
            extra = highlight_items(changes, patterns, correlation, zone)
            existing = replace(existing, items=(*existing.items, *extra))
        found.append(existing)
        if existing.key == "correlate":
            own = section(changes, patterns, zone, judged=judged)
            found.append(replace(own, paragraphs=(*own.paragraphs, *after)))
    return tuple(found)


#: Changes the section names as the start of anomalies and incidents, and how many of
#: those it names for each.
NAMED_CHANGES = 3
NAMED_DEPARTURES = 4


def _after_changes(
    sections: tuple[Section, ...], inferred: pd.DataFrame | None
) -> tuple[Paragraph, ...]:
    """How long after which change the period's anomalies and incidents began: one
    sentence per change, naming what followed it, timed from the first of those."""
    from mfq.analysis.change_notes import ChangeRow, change_text, preceding_change

    if inferred is None or not len(inferred):
        return ()
    by_change: dict[str, tuple[pd.Timestamp, ChangeRow, list[str]]] = {}
    for label, at, scope in sorted(_departures(sections), key=lambda item: item[1]):
        change = preceding_change(inferred, VERSION_FIELD, at, scope)
        if change is None:
            continue
        key = change_text(change, VERSION_FIELD, change["first_seen"])
        first = by_change.setdefault(key, (at, change, []))
        if label not in first[2]:
            first[2].append(label)
    found: list[Paragraph] = []
    for at, change, labels in list(by_change.values())[:NAMED_CHANGES]:
        shown = labels[:NAMED_DEPARTURES]
        if len(labels) > len(shown):
            shown.append(f"{len(labels) - len(shown)} more")
        named = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
        text = f"{named} began {change_text(change, VERSION_FIELD, at)}."
        found.append(paragraph(text[0].upper() + text[1:]))
    return tuple(found)


def _departures(sections: tuple[Section, ...]) -> list[tuple[str, pd.Timestamp, list[str]]]:
    """The anomalies and incidents of the report: a label, when each began, and the
    values that scope it (an anomaly's group, an incident's ``field = 'value'``)."""
    import re

    import pandas as pd

    found: list[tuple[str, pd.Timestamp, list[str]]] = []
    for existing in sections:
        for table in existing.tables:
            for row in table.frame.to_dict("records"):
                if table.key == "anomalies":
                    label = f"the anomaly of {row['signal']} {row['group']}"
                    found.append((label, pd.Timestamp(row["time"]), [str(row["group"])]))
                elif table.key == "incidents":
                    scope = re.findall(r"= '([^']*)'", str(row["scope"]))
                    label = f"the incident of {row['scope']}"
                    found.append((label, pd.Timestamp(row["start"]), scope))
    return found
