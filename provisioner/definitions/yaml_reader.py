"""YAML text to plain data, read from libyaml's event stream: YAML 1.2 typing, bounded, no node tree kept.

- Typing follows the YAML 1.2 core schema, as editors (yaml-language-server) do: ``true``/``false``,
  ``null``/``~``, decimal, ``0o`` octal and ``0x`` hex integers, and floats (``1e3`` included) are typed;
  every other plain scalar (``yes``, ``no``, ``on``, ``off``, ``2024-01-01``) is a string. A number written
  with an exponent whose value is whole (``1e3``) is that integer, so it fits integer fields. Keys stay as
  written. Merge keys (``<<: *base``) work as in YAML 1.1: explicit keys win, then earlier sources.
- Bounds apply while reading, before any value is built: nesting depth, the number of values aliases copy
  (an alias bomb stops at the alias that crosses the bound), and numbers (64-bit, finite).
- Where each value was written goes into a ``PositionIndex`` (positions.py).

``DefinitionDumper`` writes YAML that reads back the same under these rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

import yaml
from yaml import events

from provisioner.definitions.pointers import join_pointer
from provisioner.definitions.positions import NO_KEY, SIZE, STRIDE, PositionIndex
from provisioner.model import Json, Problem

try:
    from yaml.cyaml import CParser as _Parser
except ImportError:  # PyYAML built without libyaml: the same events, slower
    _Parser = yaml.SafeLoader

MAX_DEPTH = 100
MAX_ALIAS_VALUES = 100_000  # per file: values that aliases copy (a definition repository needs few)
_INTEGER_LIMIT = 2**63  # Datadog's integers are 64-bit
_MAX_INTEGER_DIGITS = 30  # longer is out of range anyway; never hand Python a 10,000-digit int()

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_DECIMAL = re.compile(r"[-+]?[0-9]+\Z")
_OCTAL = re.compile(r"0o[0-7]+\Z")
_HEXADECIMAL = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
# One match tells which of them a plain scalar is (the group named by lastgroup), in the order they are tried
_NUMBER = re.compile(
    "|".join(
        f"(?P<{name}>{pattern.pattern})"
        for name, pattern in (
            ("decimal", _DECIMAL), ("octal", _OCTAL), ("hexadecimal", _HEXADECIMAL), ("float", _FLOAT),
            ("special", _SPECIAL_FLOAT),
        )
    )
)  # fmt: skip
_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfF")  # first characters of every typed plain scalar
# 1.1 booleans that YAML 1.2 (and so this reader and editors) keeps as strings
YAML_1_1_BOOLEANS = frozenset(
    word for base in ("yes", "no", "on", "off", "y", "n") for word in (base, base.capitalize(), base.upper())
)


class DefinitionDumper(yaml.SafeDumper):
    """Writes YAML that this reader (and editors) read back as written: a string that YAML 1.2 would type
    (``1e3``, ``0o17``) is quoted, as PyYAML already quotes the YAML 1.1 forms (``yes``, ``0x1F``)."""


for _tag, _pattern in (("int", _DECIMAL), ("int", _OCTAL), ("int", _HEXADECIMAL), ("float", _FLOAT)):
    DefinitionDumper.add_implicit_resolver(_TAG + _tag, _pattern, list("-+0123456789."))


class ParsedDocument(NamedTuple):  # a tuple: made for every document, cheaper than a dataclass
    data: Json
    positions: PositionIndex


class ReadStopped(Exception):
    """The file cannot be read on (a bound was crossed, an alias is undefined): no documents from it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _NumberOutOfRange(ValueError):
    pass


def plain_scalar(text: str) -> Json:
    """The value of a plain (unquoted, untagged) scalar under the YAML 1.2 core schema."""
    if text and text[0] not in _MAYBE_TYPED:
        return text
    if text.isdigit() and text.isascii() and len(text) <= 18:  # most numbers: 18 digits fit in 64 bits
        return int(text)
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    number = _NUMBER.match(text)
    if number is None:
        return text
    kind = number.lastgroup
    if kind == "decimal":
        return _integer(text, 10)
    if kind == "float":
        return _float(text)
    if kind == "special":
        raise _NumberOutOfRange(f"{text} is not a number JSON or Datadog accepts")
    return _integer(text[2:], 8 if kind == "octal" else 16)


def _integer(digits: str, base: int) -> int:
    if len(digits.lstrip("+-0")) > _MAX_INTEGER_DIGITS:
        raise _NumberOutOfRange(_too_large(digits))
    value = int(digits, base)
    if not -_INTEGER_LIMIT <= value < _INTEGER_LIMIT:
        raise _NumberOutOfRange(_too_large(digits))
    return value


def _float(text: str) -> float | int:
    value = float(text)
    if math.isinf(value):
        raise _NumberOutOfRange(_too_large(text))
    if "e" in text.lower() and value.is_integer() and abs(value) < _INTEGER_LIMIT:
        return int(value)
    return value


def _too_large(text: str) -> str:
    shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
    return f"the number {shown} is out of range: Datadog takes 64-bit numbers"


class _Frame:
    """An open mapping or sequence."""

    __slots__ = (
        "value", "slot", "anchor", "block", "tag_problem", "key", "key_line", "key_column", "state", "merges"
    )  # fmt: skip

    def __init__(
        self, value: dict[str, Json] | list[Json], slot: int, anchor: str | None, block: bool, state: str
    ) -> None:
        self.value = value
        self.slot = slot
        self.anchor = anchor
        self.block = block
        self.tag_problem = False
        self.key: str = ""
        self.key_line, self.key_column = NO_KEY, 0  # where the current key was written
        self.state = state
        self.merges: list[tuple[int, Json]] = []


# What an open collection expects next: a sequence always an item, a mapping a key, then its value
_ITEM, _KEY, _VALUE, _MERGE, _DISCARD = "item", "key", "value", "merge", "discard"


@dataclass(frozen=True)
class _Anchored:
    value: Json
    slots: list[int]  # the anchored value's own slots, copied: later edits of the document's slots
    key: str | None  # the scalar as written, when it can serve as a key


_ScalarEvent = events.ScalarEvent
_MappingStartEvent, _SequenceStartEvent = events.MappingStartEvent, events.SequenceStartEvent
_MappingEndEvent, _SequenceEndEvent = events.MappingEndEvent, events.SequenceEndEvent
_AliasEvent, _DocumentEndEvent = events.AliasEvent, events.DocumentEndEvent


class _Reader:
    """Consumes the events of one file; documents and problems accumulate."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.documents: list[ParsedDocument] = []
        self.problems: list[Problem] = []
        self.alias_values = 0
        # plain_scalar's values by text, for this file: it is a pure function of the text, and a file
        # repeats its numbers and booleans (an out-of-range number is not kept: each one is a problem)
        self.plain_values: dict[str, Json] = {}
        self._new_document()

    def read(self, text: str) -> None:
        parser = _Parser(text)
        try:
            self._consume(parser.get_event)
        finally:
            parser.dispose()

    def _consume(self, next_event: Callable[[], Any]) -> None:
        """Reads the events up to the stream's end. The most common one, a scalar without an anchor as a
        key, a value or an item, is handled here with the state in locals (a call per scalar costs as much
        as the rest of its handling); every other event by a call."""
        top: _Frame | None = None  # the innermost open collection
        slots, plain_values = self.slots, self.plain_values
        while True:
            event = next_event()
            kind = type(event)  # a call the interpreter specialises; .__class__ is a generic lookup
            if kind is _ScalarEvent:
                if top is not None and event.anchor is None:
                    state = top.state
                    if state is _KEY:
                        key = event.value
                        if key != "<<" and key not in top.value:
                            mark = event.start_mark
                            top.key, top.key_line, top.key_column = key, mark.line, mark.column
                            top.state = _VALUE
                            continue
                    elif (state is _VALUE or state is _ITEM) and event.tag is None:
                        value = event.value
                        if event.implicit[0] and (not value or value[0] in _MAYBE_TYPED):
                            value = plain_values[value] if value in plain_values else self._plain_value(event)
                        mark = event.start_mark
                        if state is _VALUE:
                            slots += (mark.line, mark.column, top.key_line, top.key_column, 2)
                            top.value[top.key] = value  # type: ignore[index]
                            top.state = _KEY
                        else:
                            slots += (mark.line, mark.column, NO_KEY, 0, 2)
                            top.value.append(value)  # type: ignore[union-attr]
                        continue
                self._scalar(event)
            elif kind is _MappingEndEvent or kind is _SequenceEndEvent:
                top = self._collection_end()
            elif kind is _MappingStartEvent:
                top = self._collection_start(event, top, {}, _KEY, _MAP)
            elif kind is _SequenceStartEvent:
                top = self._collection_start(event, top, [], _ITEM, _SEQ)
            elif kind is _AliasEvent:
                self._alias(event)
            elif kind is _DocumentEndEvent:
                self._document_end()
                slots = self.slots  # the next document's
            elif event is None or kind is events.StreamEndEvent:
                return
            # the stream's start and a document's: nothing to do

    # --- documents ---------------------------------------------------------------------------

    def _new_document(self) -> None:
        """A document's state before its first value: set when reading starts and after each document."""
        self.slots: list[int] = []  # an array once the document ends (a list takes values faster)
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchored] = {}
        self.root: Json = None
        self.empty = True

    def _document_end(self) -> None:
        if not self.empty:
            self.documents.append(ParsedDocument(self.root, PositionIndex(self.slots)))
        self._new_document()

    # --- values ------------------------------------------------------------------------------

    def _scalar(self, event: events.ScalarEvent) -> None:
        """A scalar the loop of ``_consume`` leaves: an anchored, ``<<`` or duplicate key, a tagged or
        anchored value, the root, or a value that is merged or discarded."""
        parent = self.stack[-1] if self.stack else None
        if parent is not None and parent.state is _KEY:
            self._key(parent, event)
            return
        slot = self._open_slot(event.start_mark, parent, block=False)
        value = self._scalar_value(event)
        if parent is None and value is None and event.tag is None:
            return  # an empty document (or only "~")
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchored(value, self.slots[slot * STRIDE :], event.value)
        self._attach(value, slot)

    def _scalar_value(self, event: events.ScalarEvent) -> Json:
        tag, text = event.tag, event.value
        if tag is None or tag == "!":
            if not event.implicit[0] or tag == "!":
                return text
            return self._plain_value(event)
        if tag == _STR or tag == _TAG + "timestamp":  # definitions are JSON: a date is a string there
            return text
        if tag in (_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"):
            return self._tagged(event)
        self._unsupported_tag(event.start_mark, tag)
        return None

    def _plain_value(self, event: events.ScalarEvent) -> Json:
        try:
            value = self.plain_values[event.value] = plain_scalar(event.value)
        except _NumberOutOfRange as exc:
            hint = "write a finite number within 64 bits, or quote it if it is text"
            self._problem(event.start_mark, "number-out-of-range", str(exc), hint, self._pointer())
            return None
        return value

    def _tagged(self, event: events.ScalarEvent) -> Json:
        try:
            value = plain_scalar(event.value)
        except _NumberOutOfRange:
            value = event.value
        wanted = event.tag.removeprefix(_TAG)
        kinds = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}
        if isinstance(value, kinds[wanted]) and (wanted == "bool" or not isinstance(value, bool)):
            return float(value) if wanted == "float" else value
        self._problem(
            event.start_mark, "yaml-tag", f"{event.value!r} is not a YAML 1.2 !!{wanted}",
            "remove the tag, or write a value of that type", self._pointer(),
        )  # fmt: skip
        return None

    def _collection_start(
        self, event: Any, parent: _Frame | None, value: dict[str, Json] | list[Json], state: str, tag: str
    ) -> _Frame:
        """Opens a mapping or sequence (``value``, empty) in ``parent``: the new innermost frame."""
        if len(self.stack) >= MAX_DEPTH:
            message = f"the YAML nests deeper than {MAX_DEPTH} levels"
            hint = "definitions need a few levels: check the indentation, or flatten the structure"
            raise ReadStopped(
                self._new_problem(event.start_mark, "yaml-depth", message, hint, self._pointer())
            )
        block = not event.flow_style
        frame = _Frame(value, self._open_slot(event.start_mark, parent, block), event.anchor, block, state)
        if event.tag is not None and event.tag != "!" and event.tag != tag:
            self._unsupported_tag(event.start_mark, event.tag)
            frame.tag_problem = True
        self.stack.append(frame)
        return frame

    def _collection_end(self) -> _Frame | None:
        """Closes the innermost collection: the frame that is innermost now."""
        stack, slots = self.stack, self.slots
        frame = stack.pop()
        value: Json = frame.value
        if frame.merges:
            self._merge(frame)
        if frame.tag_problem:
            del slots[(frame.slot + 1) * STRIDE :]
            value = None
        slot = frame.slot
        slots[slot * STRIDE + SIZE] = (len(slots) // STRIDE - slot) << 1 | frame.block
        if frame.anchor is not None:
            self.anchors[frame.anchor] = _Anchored(value, slots[slot * STRIDE :], None)
        self._attach(value, slot)
        return stack[-1] if stack else None

    def _alias(self, event: events.AliasEvent) -> None:
        anchored = self.anchors.get(event.anchor)
        if anchored is None:
            self._stop_on_unknown_alias(event)
        parent = self.stack[-1] if self.stack else None
        if parent is not None and parent.state is _KEY:
            if anchored.key is None:
                self._invalid_key(parent, event.start_mark.line + 1, event.start_mark.column + 1)
            else:
                self._take_key(parent, anchored.key, event.start_mark)
            return
        size = len(anchored.slots) // STRIDE
        self.alias_values += size
        if self.alias_values > MAX_ALIAS_VALUES:
            message = f"aliases here copy more than {MAX_ALIAS_VALUES:,} values (an alias bomb?)"
            hint = "write the values out, or use fewer nested aliases"
            raise ReadStopped(
                self._new_problem(event.start_mark, "yaml-aliases", message, hint, self._pointer())
            )
        slot = self._open_slot(event.start_mark, parent, block=False)  # located at the alias itself
        self.slots[slot * STRIDE + SIZE] = size << 1
        self.slots.extend(anchored.slots[STRIDE:])
        self._attach(anchored.value, slot)

    def _stop_on_unknown_alias(self, event: events.AliasEvent) -> NoReturn:
        if any(frame.anchor == event.anchor for frame in self.stack):
            message = f"the alias *{event.anchor} refers to a value that contains it"
        else:
            message = f"found undefined alias *{event.anchor}"
        hint = "define the anchor (&name) before using the alias"
        raise ReadStopped(
            self._new_problem(event.start_mark, "yaml-syntax", f"YAML syntax error: {message}", hint, "")
        )

    # --- building ----------------------------------------------------------------------------

    def _open_slot(self, mark: Any, parent: _Frame | None, block: bool) -> int:
        """Adds the slot of a value that starts at ``mark`` in ``parent``: its number."""
        slots = self.slots
        slot = len(slots) // STRIDE
        if parent is None or parent.state is _KEY or parent.state is _ITEM:
            slots += (mark.line, mark.column, NO_KEY, 0, 2 | block)
        else:
            slots += (mark.line, mark.column, parent.key_line, parent.key_column, 2 | block)
        return slot

    def _attach(self, value: Json, slot: int) -> None:
        """Puts a finished value (whose slots end the array) into its parent."""
        stack = self.stack
        if not stack:
            self.root, self.empty = value, False
            return
        parent = stack[-1]
        state = parent.state
        if state is _ITEM:
            parent.value.append(value)  # type: ignore[union-attr]
            return
        if state is _KEY:  # a mapping or a list used as a key
            line, col = self.slots[slot * STRIDE] + 1, self.slots[slot * STRIDE + 1] + 1
            del self.slots[slot * STRIDE :]
            self._invalid_key(parent, line, col)
            return
        parent.state = _KEY
        if state is _VALUE:
            parent.value[parent.key] = value  # type: ignore[index]
        elif state is _MERGE:
            parent.merges.append((slot, value))
        else:
            del self.slots[slot * STRIDE :]

    def _key(self, parent: _Frame, event: events.ScalarEvent) -> None:
        if event.anchor is not None:
            slot = [event.start_mark.line, event.start_mark.column, NO_KEY, 0, 2]
            self.anchors[event.anchor] = _Anchored(event.value, slot, event.value)
        if event.value == "<<" and event.tag is None and event.implicit[0]:
            parent.state, parent.key_line, parent.key_column = _MERGE, NO_KEY, 0
            return
        self._take_key(parent, event.value, event.start_mark)

    def _take_key(self, parent: _Frame, key: str, mark: Any) -> None:
        if key in parent.value:
            message = f"duplicate key '{key}'"
            hint = "remove one of them: YAML keeps only the last"
            self._problem(mark, "duplicate-key", message, hint, self._pointer(key))
            parent.key, parent.state = key, _DISCARD
            return
        parent.key, parent.key_line, parent.key_column, parent.state = key, mark.line, mark.column, _VALUE

    def _invalid_key(self, parent: _Frame, line: int, col: int) -> None:
        message = "a mapping key must be a plain value"
        self.problems.append(Problem(self.display, line, col, self._pointer(), "yaml-key", "error", message))
        parent.state = _DISCARD

    def _merge(self, frame: _Frame) -> None:
        """Adds the keys of the ``<<`` sources the mapping does not set, after its own keys (whose slots
        come first), and drops the slots of the ``<<`` values themselves."""
        mapping: dict[str, Json] = frame.value  # type: ignore[assignment]
        merged: list[int] = []
        for slot, value in frame.merges:
            for source_slot, source in self._merge_sources(slot, value):
                child = source_slot + 1
                for key, item in source.items():
                    size = self._size(child)
                    if key not in mapping:
                        mapping[key] = item
                        merged.extend(self.slots[child * STRIDE : (child + size) * STRIDE])
                    child += size
        for slot, _ in reversed(frame.merges):
            del self.slots[slot * STRIDE : (slot + self._size(slot)) * STRIDE]
        self.slots.extend(merged)

    def _merge_sources(self, slot: int, value: Json) -> list[tuple[int, dict[str, Json]]]:
        if isinstance(value, dict):
            return [(slot, value)]
        sources = []
        if isinstance(value, list):
            child = slot + 1
            for item in value:
                if isinstance(item, dict):
                    sources.append((child, item))
                child += self._size(child)
        return sources

    def _size(self, slot: int) -> int:
        return self.slots[slot * STRIDE + SIZE] >> 1

    # --- problems ----------------------------------------------------------------------------

    def _pointer(self, *extra: str) -> str:
        tokens: list[str | int] = []
        for frame in self.stack:
            if frame.state is _ITEM:
                tokens.append(len(frame.value))
            elif frame.state is not _KEY:
                tokens.append("<<" if frame.state is _MERGE else frame.key)
        return join_pointer("", *tokens, *extra)

    def _unsupported_tag(self, mark: Any, tag: str) -> None:
        self._problem(
            mark, "yaml-tag", f"unsupported YAML tag {tag}", "write plain YAML values", self._pointer()
        )

    def _problem(self, mark: Any, code: str, message: str, hint: str, pointer: str) -> None:
        self.problems.append(self._new_problem(mark, code, message, hint, pointer))

    def _new_problem(self, mark: Any, code: str, message: str, hint: str, pointer: str) -> Problem:
        return Problem(self.display, mark.line + 1, mark.column + 1, pointer, code, "error", message, hint)


def read_yaml(text: str, display: str) -> tuple[list[ParsedDocument], list[Problem]]:
    """Every non-empty document of ``text``, and the problems found reading it.

    Raises ``yaml.MarkedYAMLError`` on a syntax error and ``ReadStopped`` when a bound is crossed.
    """
    reader = _Reader(display)
    reader.read(text)
    return reader.documents, reader.problems
