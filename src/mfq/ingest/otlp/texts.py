"""Text columns checked on their bytes with numpy: hex ids and decimal numbers.

A collector writes ids of a fixed width and times as decimal text, so the columnar
converter's checks (which would otherwise run a regular expression per value) are a few
numpy passes over the column's bytes. Each function answers only when the column's shape
lets it answer exactly, else None: the caller then takes its general path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

_U8 = np.uint8


def _digits(data: np.ndarray) -> np.ndarray:
    """Which bytes are decimal digits (uint8 arithmetic wraps: one comparison a range)."""
    return (data - _U8(ord("0"))) < 10


def _hex_digits(data: np.ndarray) -> np.ndarray:
    lower = data | _U8(0x20)
    return _digits(data) | ((lower - _U8(ord("a"))) < 6)


def _upper_hex(data: np.ndarray) -> bool:
    return bool(((data - _U8(ord("A"))) < 6).any())


_ZERO_WORD = np.frombuffer(b"00000000", dtype=np.uint64)[0]


@dataclass
class TextBytes:
    """A text column's bytes: its valid entries' bytes back to back, and their lengths."""

    data: np.ndarray  # uint8
    lengths: np.ndarray  # int64 per entry (0 for a null)
    valid: np.ndarray  # bool per entry


def text_bytes(array: pa.Array) -> TextBytes | None:
    """The bytes of a ``string`` array; None for another type, or when a null entry holds
    bytes (then the entries' bytes are not the valid values alone)."""
    if not pa.types.is_string(array.type):
        return None
    valid = np.ones(len(array), dtype=bool)
    if array.null_count:
        valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    _, offsets_buffer, data_buffer = array.buffers()
    if offsets_buffer is None:
        return None
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)
    offsets = offsets[array.offset : array.offset + len(array) + 1].astype(np.int64)
    lengths = np.diff(offsets)
    if lengths[~valid].any():
        return None
    if data_buffer is None or not len(array):
        return TextBytes(np.empty(0, np.uint8), lengths, valid)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    return TextBytes(data, lengths, valid)


@dataclass
class HexIds:
    """A column of ids checked: per entry, whether it is ``digits`` hex digits and whether
    they are all zero (False for a null); and whether any digit is upper-case."""

    hexadecimal: np.ndarray
    zero: np.ndarray
    upper_case: bool


def fixed_width_hex(array: pa.Array, digits: int) -> HexIds | None:
    """The ids checked, when every valid entry has exactly ``digits`` characters."""
    text = text_bytes(array)
    if text is None or digits % 8 or not (text.lengths[text.valid] == digits).all():
        return None
    hexadecimal = text.valid.copy()
    zero = np.zeros(len(array), dtype=bool)
    is_hex = _hex_digits(text.data)
    if not is_hex.all():  # (rare) the ids with another character
        hexadecimal[text.valid] = is_hex.reshape(-1, digits).all(axis=1)
    # Eight digits a word: an id is all zeros when each of its words is "00000000".
    words = np.ascontiguousarray(text.data).view(np.uint64).reshape(-1, digits // 8)
    zero[text.valid] = (words == _ZERO_WORD).all(axis=1)
    return HexIds(hexadecimal, zero, _upper_hex(text.data))


def plain_digits(array: pa.Array, max_digits: int) -> bool:
    """Whether every valid entry is 1 to ``max_digits`` decimal digits, nothing else."""
    text = text_bytes(array)
    if text is None:
        return False
    lengths = text.lengths[text.valid]
    if len(lengths) and (lengths.min() < 1 or lengths.max() > max_digits):
        return False
    return bool(_digits(text.data).all())


def only_signed_digits(array: pa.Array) -> bool:
    """Whether the valid entries hold nothing but decimal digits and minus signs (a cast
    to int64 then accepts exactly the decimal integers among them; it also reads
    ``0x`` prefixes, which this rules out)."""
    text = text_bytes(array)
    return text is not None and bool((_digits(text.data) | (text.data == ord("-"))).all())
