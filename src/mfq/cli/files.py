"""Questions on files (``mfq query FILE``): answered from the files read directly, with
only the fields the question names, or by ingesting them into a temporary store when
the question needs more (see ``store_for`` in ``mfq.cli.query``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mfq.errors import DataError
from mfq.render import print_message

if TYPE_CHECKING:
    from mfq.api import Store
    from mfq.env import Env
    from mfq.query.direct.fields import Question
    from mfq.query.direct.reader import FileEvents
    from mfq.query.direct.texts import QuestionTexts
    from mfq.store.store import IngestSummary

#: ``MFQ_FILE_QUESTIONS=store`` answers questions on files by a temporary store (the
#: path every question took before the direct read; kept to compare the two).
MODE_ENV = "MFQ_FILE_QUESTIONS"
#: glibc's ``mallopt`` parameters (malloc.h) and the values the direct read sets: blocks
#: up to 32 MiB (a 16 MiB chunk of the file, its lines, its parsed columns) come from the
#: heap, and up to 128 MiB freed at its top is kept rather than given back; with
#: ``one_arena``, every thread allocates from the one heap (``M_ARENA_MAX``).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_HEAP_BLOCKS, _KEPT_FREE = 32 << 20, 128 << 20


def direct_enabled() -> bool:
    """Whether questions on files may be answered by reading the files directly."""
    return os.environ.get(MODE_ENV, "direct") != "store"


def held_store(
    inputs: Sequence[str], question: Question | QuestionTexts, lets: Sequence[str]
) -> tuple[Store, IngestSummary] | None:
    """The events of ``inputs`` held in memory with the question's fields; None when the
    question names a field the files do not hold (the store path then says what to do,
    with the names it knows), or when only a store can answer it.

    A question given as its texts is parsed while the files are read (see ``_EarlyRead``)."""
    from mfq.cli.project import current_project
    from mfq.query.direct.reader import read_files
    from mfq.query.direct.texts import QuestionTexts

    keep_freed_memory(one_arena=True)
    if not isinstance(question, QuestionTexts):
        from mfq.query.direct.fields import EveryField

        if isinstance(question, EveryField):
            every = read_files(inputs, None)
            refuse_if_nothing_stored(every.summary)
            return held(every), every.summary
    project = current_project()
    defined = tuple((name, text) for name, text, _line in project.fields) if project else ()
    exact: frozenset[str] | None
    once = read_once(inputs)
    if isinstance(question, QuestionTexts):
        early = None if once else question.names_mentioned(defined)
        if early is not None:  # (the early read may have to read the files again)
            reading = _EarlyRead(question, defined, early)
            return _answerable(reading.events(inputs), reading.question(), defined, lets)
        exact = question.exact_fields()
    else:
        exact = question if isinstance(question, frozenset) else None
    from mfq.query.direct.fields import question_fields

    needed = question_fields(lets=defined)
    if exact is None or needed is None:
        return None
    events = read_files(inputs, exact | needed, meanwhile=_import_the_answering)
    if once and events is not None:
        # Never the store path for an input read once: it would read it again and find
        # it empty ("no events match"). The held events hold every field the question
        # names that the input holds, so asking them answers as a store would, or names
        # the unknown field as a store would.
        refuse_if_nothing_stored(events.summary)
        return held(events), events.summary
    return _answerable(events, exact, defined, lets)


def read_once(inputs: Sequence[str]) -> bool:
    """Whether an input cannot be read twice: standard input, a pipe, a device (named, or
    met in a folder)."""
    from mfq.errors import InputUnreadable
    from mfq.ingest.sources import expand_sources

    try:
        sources = expand_sources(list(inputs))
    except InputUnreadable:
        return False  # (the read says what is wrong)
    return not all(source.rereadable() for source in sources)


def _answerable(
    events: FileEvents | None,
    question: frozenset[str] | None,
    defined: Sequence[tuple[str, str]],
    lets: Sequence[str],
) -> tuple[Store, IngestSummary] | None:
    """The held store of ``events``, if it holds every field ``question`` names (each
    stored, or defined by the project or ``--let``)."""
    if events is None or question is None:
        return None
    refuse_if_nothing_stored(events.summary)
    store = held(events)
    derived = {name for name, _text in defined}
    derived |= {text.partition("=")[0].strip().strip("`") for text in lets}
    known = store.field_types()
    if any(name not in known and name not in derived for name in question):
        return None
    return store, events.summary


class _ReadAgain(Exception):
    """The question, once parsed, needs what the early reading does not read."""


class _EarlyRead:
    """Files read with the names a question's texts mention (``names_mentioned``, found
    without the parser), the question parsed by the parser in a thread beside the
    reading: the parser's import (about 0.1 s holding the interpreter) then overlaps the
    reading instead of coming before it.

    The events held are those a read of the exact fields holds (extra columns are let
    go); should the parsed question need a field the texts did not show, or should it
    not parse (only the store path answers or refuses it), the reading stops at its
    next chunk and, for the former, starts again with the exact fields."""

    def __init__(
        self, texts: QuestionTexts, defined: Sequence[tuple[str, str]], early: frozenset[str]
    ) -> None:
        self.texts, self.defined, self.early = texts, defined, early
        self._parsed: tuple[frozenset[str] | None, frozenset[str] | None] | None = None

    def question(self) -> frozenset[str] | None:
        """The fields the question names (None: only a store answers it)."""
        return self._parse()[0]

    def wanted(self) -> frozenset[str] | None:
        """The fields to read: the question's and those the project's fields use."""
        question, needed = self._parse()
        return None if question is None or needed is None else question | needed

    def _parse(self) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        if self._parsed is None:
            from mfq.query.direct.fields import question_fields

            self._parsed = (self.texts.exact_fields(), question_fields(lets=self.defined))
        return self._parsed

    def _while_reading(self) -> None:
        wanted = self.wanted()
        if wanted is None or not wanted <= self.early:
            raise _ReadAgain
        _import_the_answering()

    def events(self, inputs: Sequence[str]) -> FileEvents | None:
        """The files' events with the question's fields (None: the question does not
        parse, or needs a store)."""
        from mfq.query.direct.reader import read_files

        try:
            events: FileEvents | None = read_files(
                inputs, self.early, meanwhile=self._while_reading
            )
        except _ReadAgain:
            events = None
        wanted = self.wanted()  # (parsed already, unless no chunk was read)
        if wanted is None:
            return None
        if events is None or not wanted <= self.early:
            return read_files(inputs, wanted, meanwhile=_import_the_answering)
        return events.only(wanted)


def _import_the_answering() -> None:
    """Import what answers the question from the held events (about 30 ms), while the
    files are read and parsed in other threads, rather than after."""
    import mfq.api
    import mfq.query.direct.store
    import mfq.query.engines.local
    import mfq.render.machine  # noqa: F401


def keep_freed_memory(*, one_arena: bool = False) -> bool:
    """Have the C allocator reuse the memory a file's chunks free (whether it took the
    settings: glibc only).

    By default glibc maps each block over 128 KiB-32 MiB afresh and unmaps it when freed,
    so every 16 MiB chunk of a file and the arrays made from it fault their pages in again:
    110,000 page faults and 0.9-1.2 s of system time for a 1M-event file, against 40,000
    and 0.5-0.6 s kept on the heap (peak memory 20-40 MiB higher). The process is the
    command's: it ends when the answer is written.

    With ``one_arena`` (the direct read), the threads made after this allocate from the
    one heap too: else each takes an arena of its own, a heap of at most 64 MiB mapped
    apart, which a 16 MiB chunk and its masks overflow and empty again, so their pages
    fault in afresh (the reading thread's screen and line split): 42,000 faults of a 1M
    question, 31,000 in one arena.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or no mallopt in it
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    taken: bool = mallopt(_M_MMAP_THRESHOLD, _HEAP_BLOCKS) == 1
    kept: bool = mallopt(_M_TRIM_THRESHOLD, _KEPT_FREE) == 1
    shared = not one_arena or mallopt(_M_ARENA_MAX, 1) == 1
    return taken and kept and shared


def held(events: FileEvents) -> Store:
    """A store over events held in memory, queried with the default engine."""
    from mfq.api import Store
    from mfq.query.direct.store import HeldStorage

    return Store(HeldStorage(events.table, events.classes))


def refuse_if_nothing_stored(summary: IngestSummary) -> None:
    """A refused file must never look like an empty answer ("no events match")."""
    if summary.refused_all:
        more = len(summary.refusals) - 1
        first = summary.refusals[0] if summary.refusals else "no records stored"
        raise DataError(first + (f" (and {more} more files refused)" if more > 0 else ""))


def report_rejects(env: Env, summary: IngestSummary) -> None:
    """What reading the files skipped and rejected, on stderr, as ingest says it."""
    for link in summary.dangling_links:
        print_message(env, f"mfq: skipped {link}: a symbolic link to nothing")
    for note in summary.notes:
        print_message(env, f"mfq: {note}")
    if summary.rejected:
        reasons = ", ".join(f"{code} {n}" for code, n in summary.rejects_by_reason.items())
        print_message(
            env,
            f"mfq: {summary.rejected} of {summary.read} records rejected ({reasons}): "
            "ingest the files to see them with 'mfq rejects'",
        )
