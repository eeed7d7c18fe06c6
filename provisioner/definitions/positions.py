"""Where each value of a YAML document was written, kept in one flat integer array per document.

The reader records one slot per value in the order a walk of the data visits them (a mapping's values in
the order of its keys, a list's items in order, each before its children): the value's position, the
position of its key (0 for list items and the root), and the slot count of its subtree (so a walk can skip
a sibling). 24 bytes per value instead of a node tree of Python objects; locating a pointer walks the
data beside the slots, and only when a problem or a spec's source asks for it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

STRIDE = 3  # value position, key position, subtree size * 2 + block-collection flag
_NO_POSITION = 0


def pack(line: int, col: int) -> int:
    """A 1-based (line, col) as one integer."""
    return line << 32 | col


def unpack(position: int) -> tuple[int, int]:
    return position >> 32, position & 0xFFFFFFFF


class PositionIndex:
    """The slots of one document. ``locate`` needs the document's data as the reader built it."""

    __slots__ = ("_slots",)

    def __init__(self, slots: array[int]) -> None:
        self._slots = slots

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
        base = slot * STRIDE
        position, key_position = self._slots[base], self._slots[base + 1]
        at_key = key or self._slots[base + 2] & 1
        return unpack(key_position if at_key and key_position != _NO_POSITION else position)

    def size(self, slot: int) -> int:
        return self._slots[slot * STRIDE + 2] >> 1

    def item_slots(self, slot: int, count: int) -> list[int]:
        """The slots of the first ``count`` items of the list at ``slot``, in one walk."""
        slots, child = [], slot + 1
        for _ in range(count):
            slots.append(child)
            child += self.size(child)
        return slots

    def _child(self, slot: int, value: Any, token: str) -> tuple[int, Any] | None:
        child = slot + 1
        if isinstance(value, dict):
            for name, item in value.items():
                if name == token:
                    return child, item
                child += self.size(child)
            return None
        if isinstance(value, list) and token.isdigit() and int(token) < len(value):
            for _ in range(int(token)):
                child += self.size(child)
            return child, value[int(token)]
        return None
