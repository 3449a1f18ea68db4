"""Empty results: a message on stderr for people, an empty array or file for programs."""

from __future__ import annotations

import pandas as pd
import pytest

from mfq.render import OutputFormat

from .support import render_to_text

EXPECTED_STDOUT = {
    OutputFormat.TABLE: "",
    OutputFormat.MARKDOWN: "",
    OutputFormat.JSON: "[]\n",
    OutputFormat.NDJSON: "",
    OutputFormat.CSV: "",
}


def no_rows() -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.Series([], dtype="datetime64[us, UTC]"), "type": []})


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_no_rows(fmt: OutputFormat) -> None:
    output = render_to_text(no_rows(), fmt)
    assert output.stdout == EXPECTED_STDOUT[fmt]
    human = fmt in (OutputFormat.TABLE, OutputFormat.MARKDOWN)
    assert output.stderr == ("no events match\n" if human else "")


@pytest.mark.parametrize("fmt", [OutputFormat.TABLE, OutputFormat.MARKDOWN])
def test_empty_message_can_be_changed(fmt: OutputFormat) -> None:
    output = render_to_text(no_rows(), fmt, empty_message="no spans in trace abc")
    assert (output.stdout, output.stderr) == ("", "no spans in trace abc\n")


def test_frame_without_columns_is_empty_too() -> None:
    assert render_to_text(pd.DataFrame(), OutputFormat.JSON).stdout == "[]\n"


@pytest.mark.parametrize(
    ("fmt", "stdout", "stderr"),
    [
        (OutputFormat.TABLE, "", "no events match\n"),
        (OutputFormat.MARKDOWN, "", "no events match\n"),
        (OutputFormat.JSON, "{}\n", ""),
        (OutputFormat.NDJSON, "{}\n", ""),
        (OutputFormat.CSV, "", ""),
    ],
)
def test_single_object_without_fields(fmt: OutputFormat, stdout: str, stderr: str) -> None:
    output = render_to_text({}, fmt)
    assert (output.stdout, output.stderr) == (stdout, stderr)
