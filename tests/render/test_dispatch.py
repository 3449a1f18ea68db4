"""The render entry point: one dispatch over OutputFormat, cheap to import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import mfq.render
from mfq.render import OutputFormat

from .support import render_to_text


def test_output_formats_are_the_format_option_choices() -> None:
    assert [fmt.value for fmt in OutputFormat] == ["table", "json", "ndjson", "csv", "markdown"]


def test_format_may_be_given_as_its_name() -> None:
    assert render_to_text({"a": 1}, "ndjson").stdout == '{"a":1}\n'


def test_rejects_a_result_that_is_neither_a_mapping_nor_a_dataframe() -> None:
    with pytest.raises(TypeError, match="cannot render a list"):
        render_to_text([{"a": 1}], OutputFormat.JSON)


def test_single_object_field_names_are_text() -> None:
    assert render_to_text({1: "a", None: "b"}, OutputFormat.CSV).stdout == "1,None\na,b\n"


def test_dataframe_index_is_not_rendered() -> None:
    frame = pd.DataFrame({"n": [1, 2]}, index=pd.Index(["x", "y"], name="key"))
    assert render_to_text(frame, OutputFormat.CSV).stdout == "n\n1\n2\n"


# The package root (mfq/__init__.py) belongs to another layer and may import the store; an
# empty stand-in for it makes this test about what the render layer itself imports.
SCRIPT = """
import importlib.util, io, sys, types
root = types.ModuleType("mfq")
root.__path__ = list(importlib.util.find_spec("mfq").submodule_search_locations)
sys.modules["mfq"] = root
import mfq.render
from mfq.env import Env
loaded_on_import = {"pandas", "pyarrow"} & set(sys.modules)
env = Env(stdout=io.StringIO(), stderr=io.StringIO())
for fmt in mfq.render.OutputFormat:
    mfq.render.render({"events": 3}, fmt, env)
loaded_by_single_object = {"pandas", "pyarrow"} & set(sys.modules)
print(sorted(loaded_on_import), sorted(loaded_by_single_object))
"""


@pytest.mark.slow
def test_render_layer_loads_neither_pandas_nor_pyarrow_for_a_single_object() -> None:
    src = Path(mfq.render.__file__).resolve().parents[2]
    pythonpath = os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert completed.stdout == "[] []\n"
