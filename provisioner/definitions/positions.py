"""Where each value of a YAML document was written, kept in one flat integer array per document.

The reader records one slot per value in the order a walk of the data visits them (a mapping's values in
the order of its keys, a list's items in order, each before its children): the value's line and column,
those of its key (NO_KEY for list items and the root), and the slot count of its subtree (so a walk can
skip a sibling). Lines and columns are kept as libyaml counts them, from 0, so that the reader stores
them as they come. 20 bytes per value instead of a node tree of Python objects; locating a pointer walks
the data beside the slots, and only when a problem or a spec's source asks for it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

# Per value: line, column, key line, key column, subtree size * 2 + block-collection flag
STRIDE = 5
SIZE = 4  # the offset of the size in a value's slot
NO_KEY = 0xFFFFFFFF  # the key line of a value without a key


class PositionIndex:
    """The slots of one document. ``locate`` needs the document's data as the reader built it."""

    __slots__ = ("_slots",)

    def __init__(self, slots: Iterable[int]) -> None:
        # Unsigned 32-bit: a file has fewer lines, columns and values than MAX_FILE_BYTES (4 MiB), and a
        # list converts to "I" several times faster than to a signed type
        self._slots = array("I", slots)

    def __len__(self) -> int:
        return len(self._slots) // STRIDE

    def locate(self, data: Any, tokens: Iterable[str], key: bool = False, slot: int = 0) -> tuple[int, int]:
        """(line, col) of the deepest value the tokens reach from ``data``, the value at ``slot``.

        A block mapping or sequence is located at its key (``thresholds:``) rather than at its first
        child; ``key=True`` asks for the key of the last value reached even for a scalar.
        """
        value = data
        for token in tokens:
            child = self._child(slot, value, token)
            if child is None:
                break
            slot, value = child
        slots, base = self._slots, slot * STRIDE
        if (key or slots[base + SIZE] & 1) and slots[base + 2] != NO_KEY:
            base += 2
        return slots[base] + 1, slots[base + 1] + 1

    def size(self, slot: int) -> int:
        return self._slots[slot * STRIDE + SIZE] >> 1

    def item_slots(self, slot: int, count: int) -> list[int]:
        """The slots of the first ``count`` items of the list at ``slot``, in one walk."""
        slots, found, child = self._slots, [], slot + 1
        for _ in range(count):
            found.append(child)
            child += slots[child * STRIDE + SIZE] >> 1  # size(child), inline: walks are long
        return found

    def _child(self, slot: int, value: Any, token: str) -> tuple[int, Any] | None:
        slots, child = self._slots, slot + 1
        if isinstance(value, dict):
            for name, item in value.items():
                if name == token:
                    return child, item
                child += slots[child * STRIDE + SIZE] >> 1
            return None
        if isinstance(value, list) and token.isdigit() and int(token) < len(value):
            for _ in range(int(token)):
                child += slots[child * STRIDE + SIZE] >> 1
            return child, value[int(token)]
        return None
