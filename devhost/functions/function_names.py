"""Durable functions by name, found without regard to case.

The Functions host and the Durable extension match function names case-insensitively: the extension's
``FunctionName`` compares with ``StringComparison.OrdinalIgnoreCase``, so ``start_new("Hello")``,
``call_activity("HELLO")``, a sub-orchestration or entity of either spelling, and the management webhook's
``orchestrators/{name}`` all reach the function named ``hello``. The name a caller used is what the
history and the instance record keep (as the extension records it); only the lookup ignores case.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TypeVar

from devhost.config.errors import DevHostError

T = TypeVar("T")


def name_key(name: str) -> str:
    """The key two names that differ only in case share. ``casefold`` is a little wider than .NET's
    OrdinalIgnoreCase (``ß`` and ``ss`` meet); function names are identifiers, where the two agree."""
    return name.casefold()


class FunctionsByName(MutableMapping[str, T]):
    """Functions of one kind by name: iterated under the names they were declared with, looked up in any
    case. Two functions whose names differ only in case cannot both be found, so declaring the second is
    a start-up error."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # "orchestrator", "activity", "entity": named in the start-up error
        self._items: dict[str, tuple[str, T]] = {}

    def __getitem__(self, name: str) -> T:
        return self._items[name_key(name)][1]

    def __setitem__(self, name: str, value: T) -> None:
        key = name_key(name)
        declared = self._items.get(key)
        if declared is not None and declared[0] != name:
            raise DevHostError(
                f"the {self.kind} functions '{declared[0]}' and '{name}' differ only in case: the Functions "
                "host matches function names without regard to case, so one name would reach both. "
                "Rename one of them."
            )
        self._items[key] = (name, value)

    def __delitem__(self, name: str) -> None:
        del self._items[name_key(name)]

    def __iter__(self) -> Iterator[str]:
        return (declared for declared, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"FunctionsByName({self.kind}, {list(self)!r})"
