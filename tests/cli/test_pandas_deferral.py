"""What the command line's pandas deferral (``mfq.cli.pandas_deferral``) relies on in
pyarrow, pinned: if a pyarrow upgrade changes it, these fail (pyarrow's major version is
bounded in pyproject.toml for the same reason). Each case runs in a fresh interpreter,
where pandas is not imported yet."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pyarrow as pa


def _fresh(code: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, object] = json.loads(completed.stdout.splitlines()[-1])
    return result


def test_pyarrow_probes_pandas_lazily_through_a_private_api_with_a_retrying_compat() -> None:
    """pyarrow keeps its pandas probe at ``pyarrow.lib._pandas_api``; importing pyarrow
    does not import pandas; ``compat`` is a property that (re)tries the import."""
    found = _fresh(
        """
        import json, sys
        import pyarrow
        probe = pyarrow.lib._pandas_api
        compat = type(probe).__dict__.get("compat")
        print(json.dumps({
            "pandas_after_import": "pandas" in sys.modules,
            "compat_is_a_property": compat is not None and hasattr(compat, "__get__"),
        }))
        """
    )
    assert found == {"pandas_after_import": False, "compat_is_a_property": True}


def test_a_deferred_block_converts_without_pandas_and_pandas_works_after_it() -> None:
    """Inside ``pandas_deferred`` pyarrow turns Python values into Arrow without importing
    pandas (its probe takes the refusal as "not installed"); afterwards pandas objects
    convert as pandas objects again (the probe was reset when pandas was imported)."""
    found = _fresh(
        """
        import json, sys
        import pyarrow as pa
        from mfq.cli.pandas_deferral import pandas_deferred

        with pandas_deferred():
            table = pa.table({"n": [1, 2, None]})
            array = pa.array(["a", None])
            scalar = pa.scalar(3)
            inside = "pandas" in sys.modules
            probe_says = pa.lib._pandas_api.have_pandas
        import pandas as pd

        series = pa.array(pd.Series([1.5, None], dtype="float64"))
        frame = pa.Table.from_pandas(pd.DataFrame({"x": [1, 2]}), preserve_index=False)
        categorical = pa.array(pd.Categorical(["a", "b", "a"]))
        print(json.dumps({
            "pandas_inside": inside,
            "probe_inside": probe_says,
            "built": [table.column("n").to_pylist(), array.to_pylist(), scalar.as_py()],
            "series": [str(series.type), series.null_count],
            "frame": frame.column("x").to_pylist(),
            "categorical": str(categorical.type),
            "probe_after": pa.lib._pandas_api.have_pandas,
        }))
        """
    )
    assert found == {
        "pandas_inside": False,
        "probe_inside": False,
        "built": [[1, 2, None], ["a", None], 3],
        "series": ["double", 1],  # a pandas NaN read as null: pandas recognised
        "frame": [1, 2],
        "categorical": "dictionary<values=large_string, indices=int8, ordered=0>",
        "probe_after": True,
    }


def test_pyarrow_is_within_the_bounded_major_version() -> None:
    """pyproject.toml allows pyarrow below 27: the version this was pinned against."""
    assert 15 <= int(pa.__version__.split(".")[0]) < 27


def test_pyarrows_first_look_for_pandas_after_a_deferred_block_finds_it() -> None:
    """A block that converted nothing leaves pyarrow's probe untried: its first look
    afterwards imports pandas itself, holding its lock (``_lock``, a plain lock), and the
    reset after pandas' import must not wait for that lock (it once did, forever)."""
    found = _fresh(
        """
        import json, sys
        import pyarrow as pa
        from mfq.cli.pandas_deferral import pandas_deferred

        assert not pa.lib._pandas_api._lock.locked()
        with pandas_deferred():
            pass
        array = pa.array([1, 2])
        print(json.dumps({
            "pandas": "pandas" in sys.modules,
            "probe": pa.lib._pandas_api.have_pandas,
            "array": array.to_pylist(),
        }))
        """
    )
    assert found == {"pandas": True, "probe": True, "array": [1, 2]}
