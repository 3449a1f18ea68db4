"""JUnit XML for ``mfq check``, the report format CI systems display as test results.

The shape is the one GitLab (``artifacts:reports:junit``), Jenkins' JUnit plugin and the
GitHub Actions JUnit reporters read: ``<testsuites>`` holding one ``<testsuite>`` with
``tests``/``failures``/``errors``/``skipped``/``time`` counts and a ``timestamp``, its
``<properties>`` (what the run covered), then one ``<testcase>`` per assertion, named by
the assertion's text. A failed assertion has a ``<failure>`` whose ``message`` is the
result's ``detail`` (the measured value and what was expected) and whose text repeats the
assertion, value and expectation; an assertion that could not be decided at all (no store,
a malformed assertion) has an ``<error>`` instead.

Text is made safe for XML 1.0 first: control characters become visible escapes (as on the
terminal), and what UTF-8 cannot encode (lone surrogates from undecodable arguments) is
written as a backslash escape.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mfq.errors import UsageError
from mfq.render.escape import escape_control
from mfq.render.values import normalise, to_json

if TYPE_CHECKING:
    import pandas as pd

#: ``classname`` of every testcase (Jenkins shows it as package ``mfq``, class ``check``).
CLASSNAME = "mfq.check"
DEFAULT_SUITE = "mfq check"
FAILURE_TYPE = "AssertionFailed"
NO_VALUE_TYPE = "NoValue"


@dataclass(frozen=True)
class JUnitRun:
    """What a report says about the run as a whole."""

    suite: str = DEFAULT_SUITE
    seconds: float = 0.0
    timestamp: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Outcome:
    tag: str  # "failure" or "error"
    message: str
    type: str
    text: str


def check_junit(result: pd.DataFrame, run: JUnitRun) -> str:
    """The JUnit XML document of a ``check`` result (columns ``assertion``, ``value``,
    ``passed``, ``expected``, ``detail``)."""
    cases: list[tuple[str, _Outcome | None]] = []
    for row in result.to_dict("records"):
        outcome = None
        if not bool(row["passed"]):
            value = normalise(row["value"])
            lines = [f"assertion: {row['assertion']}", f"value: {json.dumps(to_json(value))}"]
            if row.get("expected") is not None:
                lines.append(f"expected: {row['expected']}")
            kind = NO_VALUE_TYPE if value is None else FAILURE_TYPE
            outcome = _Outcome("failure", str(row["detail"]), kind, "\n".join(lines))
        cases.append((str(row["assertion"]), outcome))
    return _document(cases, run)


def error_junit(assertions: Sequence[str], message: str, error_type: str, run: JUnitRun) -> str:
    """A JUnit XML document for a run that stopped before deciding anything: every
    assertion is a testcase with the same ``<error>`` (CI shows why the gate is red)."""
    outcome = _Outcome("error", message, error_type, message)
    return _document([(text.strip(), outcome) for text in assertions], run)


def write_junit(path: str | Path, document: str) -> None:
    """Write ``document`` to ``path`` (missing parent directories are created)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(document.encode("utf-8"))
    except OSError as err:
        raise UsageError(f"--junit: cannot write {target}: {err.strerror or err}") from None


def _document(cases: list[tuple[str, _Outcome | None]], run: JUnitRun) -> str:
    failures = sum(1 for _n, o in cases if o is not None and o.tag == "failure")
    errors = sum(1 for _n, o in cases if o is not None and o.tag == "error")
    counts = {
        "tests": str(len(cases)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": "0",
        "time": _seconds(run.seconds),
    }
    suites = ET.Element("testsuites", {"name": _safe(run.suite), **counts})
    stamp = run.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")  # JUnit: no zone
    suite = ET.SubElement(suites, "testsuite", {"name": _safe(run.suite), **counts})
    suite.set("timestamp", stamp)
    if run.properties:
        properties = ET.SubElement(suite, "properties")
        for name, value in run.properties.items():
            ET.SubElement(properties, "property", {"name": _safe(name), "value": _safe(value)})
    for name, outcome in cases:
        attributes = {"classname": CLASSNAME, "name": _safe(name), "time": _seconds(0.0)}
        case = ET.SubElement(suite, "testcase", attributes)
        if outcome is not None:
            element = ET.SubElement(
                case, outcome.tag, {"message": _safe(outcome.message), "type": outcome.type}
            )
            element.text = "\n".join(_safe(line) for line in outcome.text.split("\n"))
    ET.indent(suites, space="  ")
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _seconds(seconds: float) -> str:
    return f"{seconds:.3f}"


def _safe(text: str) -> str:
    """Text XML 1.0 can hold and UTF-8 can encode, control characters shown as escapes."""
    visible = escape_control(text).replace("\ufffe", "\\ufffe").replace("\uffff", "\\uffff")
    return visible.encode("utf-8", "backslashreplace").decode("utf-8")
