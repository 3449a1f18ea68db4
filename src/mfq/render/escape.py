"""Make untrusted text inert: control characters become visible escapes.

Event content is untrusted (SPEC, "Untrusted data"): an ANSI or OSC sequence, a bell or a
carriage return inside a value must never reach a terminal raw, where it could recolour,
retitle, hide or fake output. Every human-facing renderer passes data through
:func:`escape_control` before it is printed.
"""

from __future__ import annotations

import re

# C0 controls, DEL and C1 controls; plus characters that reorder or break lines on screen
# without being C0/C1: the Unicode line/paragraph separators and the bidirectional
# overrides and isolates ("Trojan Source", CVE-2021-42574), which can make a cell read
# differently from what it contains. Zero-width joiners stay: emoji sequences need them.
_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
# json.dumps escapes C0 inside strings itself, and JSON's own whitespace (indentation
# newlines) is C0, so JSON text is only searched for the rest.
_UNSAFE_IN_JSON = re.compile(f"[{_BEYOND_C0}]")

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_control(text: str) -> str:
    r"""Return ``text`` with every control character replaced by a visible escape.

    Newline, carriage return and tab become ``\n``, ``\r`` and ``\t``; other C0, DEL and
    C1 characters become ``\xNN`` (ESC is the four characters ``\x1b``); line separators
    and bidirectional controls become ``\uNNNN``. Everything else, backslashes included,
    is left as it is, so ordinary text (Windows paths, regexes) reads unchanged.
    """
    return _UNSAFE.sub(_visible, text)


def _json_unicode_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_json_text(json_text: str) -> str:
    r"""Escape, as JSON ``\uNNNN``, the unsafe characters that ``json.dumps`` leaves raw.

    ``json.dumps(..., ensure_ascii=False)`` escapes C0 controls itself but passes DEL, C1
    (``\x9b`` is a one-byte CSI to some terminals) and bidirectional controls through.
    The result decodes to the same data. Only valid on JSON text: outside strings, JSON
    is plain ASCII, so every character replaced is inside a string.
    """
    return _UNSAFE_IN_JSON.sub(_json_unicode_escape, json_text)
