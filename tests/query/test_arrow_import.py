"""``mfq.query.arrow_import``: pyarrow.compute made without its help texts computes as before.

Each case runs in a fresh interpreter (this process imported pyarrow.compute long ago).
What the quick import leans on, and these tests pin: ``pyarrow/compute.py`` writes its
wrappers' docstrings with ``pyarrow.vendored.docscrape`` and their signatures with
``inspect.signature``; a pyarrow that changes that fails here (or falls back to the usual
import, which the last test pins).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Calls through generated wrappers, options given as keywords, as positional options and
#: as an options object; each prints its answer as a Python value.
CALLS = """
import json, sys
{setup}
import pyarrow as pa
import pyarrow.compute as pc

values = pa.array([1.26, -2.5, None, 4.0])
text = pa.array(["Api", "web", None, "api-gw"])
answers = {{
    "round": pc.round(values, ndigits=1).to_pylist(),
    "round_options": pc.round(values, options=pc.RoundOptions(0, "half_to_even")).to_pylist(),
    "count": pc.count(values, mode="all").as_py(),
    "quantile": pc.quantile(values, q=[0.5]).to_pylist(),
    "lower": pc.utf8_lower(text).to_pylist(),
    "contains": pc.match_substring(text, "api", ignore_case=True).to_pylist(),
    "in": pc.is_in(text, value_set=pa.array(["web"])).to_pylist(),
    "and": pc.and_(pa.array([True, False]), pa.array([True, True])).to_pylist(),
    "expression": str(pc.equal(pc.field("a"), 1)),
    "strptime": str(pc.strptime(pa.array(["2026-11-03"]), "%Y-%m-%d", "s").type),
    "names": sorted(name for name in dir(pc) if not name.startswith("_")),
    "help_modules": sorted(
        m for m in sys.modules if m in ("pydoc", "pyarrow.vendored.docscrape")
    ),
}}
import inspect
answers["signature_restored"] = inspect.signature is inspect.__dict__["signature"] and (
    inspect.signature.__module__ == "inspect"
)
print(json.dumps(answers))
"""

QUICK = "from mfq.query.arrow_import import import_pyarrow_compute\nimport_pyarrow_compute()"


def run_calls(setup: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", CALLS.format(setup=setup)],
        capture_output=True,
        text=True,
        check=True,
    )
    answers: dict[str, object] = json.loads(result.stdout)
    return answers


@pytest.mark.slow
def test_the_quick_import_computes_what_the_usual_one_does() -> None:
    quick = run_calls(QUICK)
    usual = run_calls("")
    # The usual import writes its help texts; the quick one does not ...
    assert usual.pop("help_modules") == ["pyarrow.vendored.docscrape", "pydoc"]
    assert quick.pop("help_modules") == []
    # ... and everything else is the same: the names, and every answer.
    assert quick == usual
    assert quick["round"] == [1.3, -2.5, None, 4.0]
    assert quick["round_options"] == [1.0, -2.0, None, 4.0]
    assert quick["count"] == 4
    assert quick["contains"] == [True, False, None, True]
    assert quick["signature_restored"] is True


@pytest.mark.slow
def test_the_quick_import_leaves_the_real_docscrape_importable() -> None:
    # The stand-in is only there while pyarrow.compute is imported: a later import of
    # the parser gets the real one.
    setup = QUICK + (
        "\nfrom pyarrow.vendored import docscrape"
        "\nassert docscrape.NumpyDocString.__module__ == 'pyarrow.vendored.docscrape'"
        "\nassert docscrape.NumpyDocString('Parameters\\n----------\\nx : int\\n')['Parameters']"
    )
    assert run_calls(setup)["help_modules"] == ["pyarrow.vendored.docscrape", "pydoc"]


@pytest.mark.slow
def test_a_pyarrow_that_fails_the_quick_way_is_imported_as_usual() -> None:
    # Should pyarrow's import come to need more of the parser than the stand-in gives, the
    # module is imported again the usual way, with its help texts.
    setup = (
        "import mfq.query.arrow_import as quick\n"
        "def refuse(doc):\n"
        "    raise KeyError('Parameters')\n"
        "quick._NoDocs.NumpyDocString = staticmethod(refuse)\n"
        "quick.import_pyarrow_compute()\n"
        "import pyarrow.compute as pc\n"
        "assert 'ndigits' in pc.round.__doc__, pc.round.__doc__"
    )
    answers = run_calls(setup)
    assert answers["help_modules"] == ["pyarrow.vendored.docscrape", "pydoc"]
    assert answers["round"] == [1.3, -2.5, None, 4.0]
