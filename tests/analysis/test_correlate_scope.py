"""``correlate`` compares like with like: fields only the selected types carry are
``scope``, and on a small selection absent values come after present ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mfq.api import Selection, Store
from tests.conftest import event


def _alerts_and_flows() -> list[dict[str, object]]:
    """4 alerts (all with alert.action, 3 of them on port 443) and 20 flows (no alert
    fields; 2 on port 443)."""
    rows: list[dict[str, object]] = []
    for i in range(4):
        rows.append(
            event(i, type="alert", dest_port=443 if i < 3 else 22, **{"alert.action": "allowed"})
        )
    for i in range(4, 24):
        rows.append(event(i, type="flow", dest_port=443 if i < 6 else 80))
    return rows


def test_fields_only_the_selected_type_carries_are_scope(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson(_alerts_and_flows())])
    result = store.correlate(Selection(where="type = 'alert'"))
    kinds = {(r.field, r.value): r.kind for r in result.itertuples()}
    assert kinds[("alert.action", "allowed")] == "scope"
    # A value both sides can have is still compared: 3 of 4 alerts vs 2 of 20 flows.
    assert kinds[("dest_port", "443")] == "explains"
    assert list(result["kind"]) == sorted(
        result["kind"], key=["explains", "symptom", "scope"].index
    )
    row = result[result["field"] == "dest_port"].iloc[0]
    assert (row["selection_count"], row["baseline_count"]) == (3, 2)


def test_without_type_in_the_selection_nothing_is_scope(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    store.ingest([write_ndjson(_alerts_and_flows())])
    result = store.correlate(Selection(where="dest_port = 443"))
    assert "scope" not in set(result["kind"])


def test_absent_values_never_outrank_present_ones_on_a_small_selection(
    store: Store, write_ndjson: Callable[..., Path]
) -> None:
    # 8 selected events: none carries `quantity` (40 of 60 others do), all are in eu
    # (24 of 60 others are). The absent quantity scores higher, yet comes second.
    rows = [event(i, status="error", region="eu") for i in range(8)]
    for i in range(8, 68):
        extra: dict[str, object] = {"region": "eu" if i < 32 else "us"}
        if i < 48:
            extra["quantity"] = 2
        rows.append(event(i, status="ok", **extra))
    store.ingest([write_ndjson(rows)])
    result = store.correlate(Selection(where="status = 'error'"))
    explains = result[result["kind"] == "explains"]
    assert list(explains["field"])[:2] == ["region", "quantity"]
    assert explains.iloc[0]["value"] == "eu"
    assert pd.isna(explains.iloc[1]["value"])
    absent, present = explains.iloc[1], explains.iloc[0]
    assert absent["score"] > present["score"]
