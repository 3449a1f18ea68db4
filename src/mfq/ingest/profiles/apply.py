"""Reading a profile's standard fields out of one decoded record."""

from __future__ import annotations

from dataclasses import dataclass, field

from mfq.ingest.profiles.model import KeyGetter, Profile, field_of

#: The collector's attributes object, searched after the top level.
ATTRIBUTES_KEY = "attributes"
#: Keys already looked up; a value is (path of keys walked, value) or None.
_Found = tuple[tuple[str, ...], object] | None


def find_key(obj: dict[str, object], key: str) -> _Found:
    """The value at dotted path ``key``: literal keys holding dots are tried first
    (``log.level`` beside a nested ``log`` object), then nested objects."""
    parts = key.split(".")
    return _walk(obj, parts)


def _walk(node: dict[str, object], parts: list[str]) -> _Found:
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        if name not in node:
            continue
        value = node[name]
        if cut == len(parts):
            if value is None:
                continue
            return (name,), value
        if isinstance(value, dict):
            found = _walk(value, parts[cut:])
            if found is not None:
                return (name, *found[0]), found[1]
    return None


def _scalar_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text or None
    return None


def render_template(obj: dict[str, object], template: str) -> str | None:
    """The template with each ``{key}`` replaced by its value; an absent part is left out
    with the text before it (``"{verb} {resource}"`` gives ``"list"`` without a resource)."""
    pieces = template.split("{")
    out: list[str] = []
    separator = ""
    last_literal = ""
    for piece in pieces[1:]:
        key, _, literal = piece.partition("}")
        found = find_key(obj, key)
        text = None if found is None else _scalar_text(found[1])
        last_literal = ""
        if text is None:
            continue
        if out:
            out.append(separator)
        out.append(text)
        separator = last_literal = literal
    if not out:
        return None
    return (pieces[0] + "".join(out) + last_literal).strip() or None


@dataclass
class Picked:
    """The standard fields a profile read from a record, and the keys they consumed."""

    #: standard field -> (label for messages and unit, value)
    chosen: dict[str, tuple[str, object]] = field(default_factory=dict)
    #: Key paths whose values became standard fields (dropped from the attributes).
    consumed: list[tuple[str, ...]] = field(default_factory=list)


def pick(profile: Profile, obj: dict[str, object]) -> Picked:
    """Read every field the profile maps from ``obj`` (unchanged)."""
    picked = Picked()
    for target, getters in profile.fields.items():
        name = field_of(target)
        if name in picked.chosen:
            continue
        found = _first(obj, getters)
        if found is None:
            continue
        path, value = found
        mapped = profile.values.get(name)
        if mapped is not None:
            text = _scalar_text(value)
            if text is not None and text in mapped:
                value = mapped[text]
        label = target if target != name else ".".join(path) if path else target
        picked.chosen[name] = (label, value)
        if path:
            picked.consumed.append(path)
    for target, value in profile.defaults.items():
        picked.chosen.setdefault(field_of(target), (target, value))
    return picked


def _first(obj: dict[str, object], getters: tuple[KeyGetter, ...]) -> _Found:
    for getter in getters:
        if getter.key is not None:
            found = find_key(obj, getter.key)
            nested = obj.get(ATTRIBUTES_KEY)
            if found is None and isinstance(nested, dict):
                # As for the default aliases: the top level first, then inside attributes.
                inner = find_key(nested, getter.key)
                found = None if inner is None else ((ATTRIBUTES_KEY, *inner[0]), inner[1])
            if found is not None:
                return found
        elif getter.template is not None:
            text = render_template(obj, getter.template)
            if text is not None:
                return (), text
    return None


def without(obj: dict[str, object], paths: list[tuple[str, ...]]) -> dict[str, object]:
    """A copy of ``obj`` without the values at ``paths`` (only the objects on a path are
    copied; emptied objects are dropped)."""
    result = dict(obj)
    for path in paths:
        _remove(result, path)
    return result


def _remove(node: dict[str, object], path: tuple[str, ...]) -> None:
    head = path[0]
    if head not in node:
        return
    if len(path) == 1:
        del node[head]
        return
    child = node[head]
    if isinstance(child, dict):
        copy = dict(child)
        _remove(copy, path[1:])
        if copy:
            node[head] = copy
        else:
            del node[head]
