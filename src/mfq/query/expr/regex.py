"""``regex(S, 'PATTERN')``: which part of a match it gives, as a pattern with one named
group (pyarrow's ``extract_regex`` returns named groups only)."""

from __future__ import annotations


def first_group_pattern(pattern: str, name: str) -> str:
    """``pattern`` with its first capturing group named ``name`` (the whole pattern in
    that group when it has none). Escapes, character classes and ``(?...)`` groups are
    skipped; an already named first group is renamed."""
    position, in_class = 0, False
    while position < len(pattern):
        ch = pattern[position]
        if ch == "\\":
            position += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            # A ']' right after '[' or '[^' is a literal member of the class.
            following = pattern[position + 1 : position + 3]
            if following.startswith("]"):
                position += 1
            elif following == "^]":
                position += 2
        elif ch == "(":
            rest = pattern[position + 1 :]
            if not rest.startswith("?"):
                return f"{pattern[: position + 1]}?P<{name}>{rest}"
            for prefix in ("?P<", "?<"):
                if rest.startswith(prefix) and not rest.startswith(("?<=", "?<!")):
                    end = rest.index(">")
                    return f"{pattern[: position + 1]}?P<{name}{rest[end:]}"
        position += 1
    return f"(?P<{name}>{pattern})"
