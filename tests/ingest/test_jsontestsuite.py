"""JSONTestSuite's 318 parsing cases ingested as one directory (issue 14): one clean run in
which every file is accounted for: its records stored or rejected with a reason, or the
file skipped as not JSON with a note naming it, or skipped as a repeat of another file's
bytes, or (blanks, ``[]``) holding nothing."""

from __future__ import annotations

from pathlib import Path

import mfq
from tests.conftest import REPO

SUITE = REPO.parent / "shared" / "jsontestsuite" / "test_parsing"
#: Files with no record in them: nothing, blanks, a BOM, an empty array.
EMPTY = {
    "n_single_space.json",
    "n_structure_UTF8_BOM_no_data.json",
    "n_structure_no_data.json",
    "y_array_empty.json",
    "y_structure_whitespace_array.json",
}


def test_the_json_test_suite_ingests_as_one_directory(tmp_path: Path) -> None:
    store = mfq.open_store(tmp_path / "s", create=True)
    summary = store.ingest([SUITE])
    files = {path.name for path in SUITE.iterdir()}
    assert len(files) == 318
    assert summary.read == summary.ingested + summary.duplicates + summary.rejected
    skipped = {note.split(": ")[0].removeprefix("skipped ") for note in summary.notes}
    skipped_names = {Path(name).name for name in skipped}
    assert len(skipped_names) == summary.skipped_files
    for note in summary.notes:
        assert note.endswith(": does not look like JSON or NDJSON"), note
    rejects = store.rejects()
    with_rejects = {Path(name).name for name in rejects["source"]}
    assert (rejects["reason"].str.len() > 0).all()
    assert store.info()["events"] == 0  # no case is an event (none has a type and a time)
    first_of: dict[bytes, str] = {}
    for name in sorted(files):  # a directory is read in name order
        first_of.setdefault((SUITE / name).read_bytes(), name)
    repeats = files - set(first_of.values())
    assert summary.skipped_sources == len(repeats) == 2
    assert with_rejects | skipped_names | EMPTY | repeats == files
    assert not (with_rejects & skipped_names)
    assert not (EMPTY & (with_rejects | skipped_names | repeats))
    assert summary.sources == 318
    assert set(rejects["code"]) == {"not_json", "not_object", "missing_type", "too_deep"}
