"""Static compatibility of an edge: can what a source emits be handed to what a target accepts?"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any, Union


def type_name(tp: Any) -> str:
    """A type as error messages name it: a plain class by its name, anything else as typing prints it."""
    if tp is None or tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__qualname__
    return str(tp).replace("typing.", "")


def _members(tp: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return typing.get_args(tp)
    return (tp,)


def _strip(tp: Any) -> Any:
    # Annotated[T, ...] carries validation only; compatibility is decided on T.
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def sendable(tp: Any) -> Any:
    """What a port can actually send: returning ``None`` sends nothing, so ``T | None`` sends ``T``.

    ``None`` when nothing at all can be sent.
    """
    members = _members(_strip(tp))
    kept = tuple(m for m in members if m is not None and m is not type(None))
    if len(kept) == len(members):
        return tp
    return Union[kept] if kept else None  # noqa: UP007 - Union[(int,)] is int


def compatible(produced: Any, accepted: Any) -> bool:
    """True when every value of ``produced`` is a valid ``accepted``, as far as types can tell."""
    produced, accepted = _strip(produced), _strip(accepted)
    if accepted is Any or produced is Any or produced == accepted:
        return True
    produced_members = _members(produced)
    if len(produced_members) > 1:
        return all(compatible(p, accepted) for p in produced_members)
    accepted_members = _members(accepted)
    if len(accepted_members) > 1:
        return any(compatible(produced, a) for a in accepted_members)
    p_origin, a_origin = typing.get_origin(produced), typing.get_origin(accepted)
    if a_origin is typing.Literal or p_origin is typing.Literal:
        return _literal_compatible(produced, accepted)
    if p_origin is not None or a_origin is not None:
        return _generic_compatible(produced, accepted)
    if accepted is float and produced is int:
        return True
    return _subclass(produced, accepted)


def _literal_compatible(produced: Any, accepted: Any) -> bool:
    """Either side a ``Literal``: its values against the other side."""
    p_literal = typing.get_origin(produced) is typing.Literal
    if p_literal and typing.get_origin(accepted) is typing.Literal:
        return set(typing.get_args(produced)) <= set(typing.get_args(accepted))
    if p_literal:
        # Each value is checked by its type, so Literal[1] -> float follows int -> float.
        return all(compatible(type(v), accepted) for v in typing.get_args(produced))
    return False


def _generic_compatible(produced: Any, accepted: Any) -> bool:
    """Either side generic (``list[int]``, ``Sequence[str]``, ``tuple[int, ...]``): bases, then items."""
    p_origin, a_origin = typing.get_origin(produced), typing.get_origin(accepted)
    p_base, a_base = p_origin or produced, a_origin or accepted
    p_args, a_args = typing.get_args(produced), typing.get_args(accepted)
    if p_base is not a_base:
        if not _subclass(p_base, a_base):
            return False
        if p_origin is None:
            # A plain class (str -> Sequence[...]): its item types are unknown, so only a bare target.
            return not a_args
    if not a_args or not p_args:
        return True
    if a_base is tuple and len(a_args) == 2 and a_args[1] is Ellipsis:
        # tuple[T, ...] takes any length: every produced item must be a T.
        p_items = p_args[:1] if len(p_args) == 2 and p_args[1] is Ellipsis else p_args
        return all(compatible(p, a_args[0]) for p in p_items)
    if len(p_args) != len(a_args):
        return False
    return all(compatible(p, a) for p, a in zip(p_args, a_args, strict=True))


def _subclass(produced: Any, accepted: Any) -> bool:
    try:
        return isinstance(produced, type) and isinstance(accepted, type) and issubclass(produced, accepted)
    except TypeError:
        return False


def list_item_type(tp: Any) -> Any | None:
    """``T`` for ``list[T]`` (or ``Sequence[T]``), ``Any`` for a bare list; ``None`` when not a list."""
    tp = _strip(tp)
    if tp is Any:
        return Any
    if tp is list:
        return Any
    origin = typing.get_origin(tp)
    if origin in (list, collections.abc.Sequence):
        args = typing.get_args(tp)
        return args[0] if args else Any
    return None
