"""YAML text to plain JSON-like data, keeping the node tree so any RFC 6901 pointer can be located.

Locations are computed lazily (only when a problem needs one) from the composed nodes, so a clean
file is composed once and walked once. PyYAML's C parser is used when it is available.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from provisioner.model import Json, Problem, Severity

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "merge"
# Timestamps stay strings: definitions are JSON, and "2024-01-01" is a string there.
_SCALARS = {
    _TAG + "int": _CONSTRUCTOR.construct_yaml_int,
    _TAG + "float": _CONSTRUCTOR.construct_yaml_float,
    _TAG + "bool": _CONSTRUCTOR.construct_yaml_bool,
    _TAG + "null": _CONSTRUCTOR.construct_yaml_null,
    _TAG + "timestamp": lambda node: node.value,
}


# First characters of the plain scalars YAML 1.1 may type as something else than a string (int, float,
# bool, null, timestamp, merge key): others skip the resolver's regular expressions.
_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfFyYoO<=")


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader (C when available), with a resolver that types most strings without a regex."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and (not implicit[0] or (value and value[0] not in _MAYBE_TYPED)):
            return _STR
        if kind is MappingNode:
            return _MAP
        if kind is SequenceNode:
            return _SEQ
        return str(super().resolve(kind, value, implicit))


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def join_pointer(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape_token(str(t)) for t in tokens)


@dataclass(frozen=True)
class SourceDocument:
    """One YAML document: its data and its node tree (for locations)."""

    path: str
    data: Json
    root: Node

    def locate(self, pointer: str, key: bool = False) -> tuple[int, int]:
        """(line, col), 1-based, of the deepest node the pointer reaches.

        A block mapping or sequence is located at its key (``thresholds:``) rather than at its first
        child; ``key=True`` asks for the key of the last token even for a scalar value.
        """
        node, key_node = self.root, None
        for token in split_pointer(pointer):
            child = _child(node, token)
            if child is None:
                break
            key_node, node = child
        target = key_node if key_node is not None and (key or _is_block_collection(node)) else node
        return target.start_mark.line + 1, target.start_mark.column + 1

    def problem(
        self,
        pointer: str,
        code: str,
        message: str,
        hint: str = "",
        severity: Severity = "error",
        key: bool = False,
    ) -> Problem:
        line, col = self.locate(pointer, key=key)
        return Problem(self.path, line, col, pointer, code, severity, message, hint)


def _is_block_collection(node: Node) -> bool:
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style


def _child(node: Node, token: str) -> tuple[Node | None, Node] | None:
    if isinstance(node, MappingNode):
        for key_node, value_node in _pairs(node):
            if isinstance(key_node, ScalarNode) and key_node.value == token:
                return key_node, value_node
        return None
    if isinstance(node, SequenceNode) and token.isdigit() and int(token) < len(node.value):
        return None, node.value[int(token)]
    return None


def _pairs(node: MappingNode) -> Iterator[tuple[Node, Node]]:
    """Key/value pairs with YAML merge keys (``<<: *base``) expanded; explicit keys come first."""
    merged: list[tuple[Node, Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, MappingNode):
                    merged.extend(_pairs(source))
        else:
            yield key_node, value_node
    yield from merged


NodePath = tuple[Any, str | int] | None  # (parent path, token): pointers are built only for problems


def path_pointer(path: NodePath) -> str:
    tokens: list[str | int] = []
    while path is not None:
        path, token = path
        tokens.append(token)
    return join_pointer("", *reversed(tokens))


@dataclass
class _Builder:
    """Turns composed nodes into plain data, collecting problems (duplicate keys, unsupported tags)."""

    path: str
    problems: list[Problem] = field(default_factory=list)

    def build(self, node: Node, path: NodePath) -> Json:
        cls = node.__class__
        if cls is ScalarNode:
            if node.tag == _STR:
                return node.value
            construct = _SCALARS.get(node.tag)
            if construct is not None:
                return construct(node)
        elif cls is MappingNode and node.tag == _MAP:
            return self._mapping(node, path)
        elif cls is SequenceNode and node.tag == _SEQ:
            return [self.build(item, (path, i)) for i, item in enumerate(node.value)]
        self._add(node, path, "yaml-tag", f"unsupported YAML tag {node.tag}", "write plain YAML values")
        return None

    def _mapping(self, node: MappingNode, path: NodePath) -> dict[str, Json]:
        result: dict[str, Json] = {}
        has_merge = False
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                has_merge = True
            elif key_node.__class__ is not ScalarNode:
                self._add(key_node, path, "yaml-key", "a mapping key must be a plain value", "")
            elif key_node.value in result:
                message = f"duplicate key '{key_node.value}'"
                hint = "remove one of them: YAML keeps only the last"
                self._add(key_node, (path, key_node.value), "duplicate-key", message, hint)
            else:  # the key as written: "on:" stays "on", not True
                result[key_node.value] = self.build(value_node, (path, key_node.value))
        if has_merge:  # merged keys (<<: *base) never override explicit ones
            for key_node, value_node in _pairs(node):
                if isinstance(key_node, ScalarNode) and key_node.value not in result:
                    result[key_node.value] = self.build(value_node, (path, key_node.value))
        return result

    def _add(self, node: Node, path: NodePath, code: str, message: str, hint: str) -> None:
        mark = node.start_mark
        pointer = path_pointer(path)
        self.problems.append(
            Problem(self.path, mark.line + 1, mark.column + 1, pointer, code, "error", message, hint)
        )


def read_documents(path: Path, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    """Every non-empty document of a YAML file; on a syntax error, no documents and one problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return [], [Problem(display, 1, 1, "", "encoding", "error", f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return [], [Problem(display, 1, 1, "", "unreadable", "error", f"cannot read: {exc.strerror}")]
    return parse_documents(text, display)


def parse_documents(text: str, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    builder = _Builder(display)
    try:
        roots = [root for root in yaml.compose_all(text, Loader=_Loader) if not _is_empty(root)]
    except yaml.MarkedYAMLError as exc:
        return [], [_syntax_problem(display, exc, text)]
    except yaml.YAMLError as exc:
        return [], [Problem(display, 1, 1, "", "yaml-syntax", "error", f"YAML error: {exc}")]
    try:
        documents = [SourceDocument(display, builder.build(root, None), root) for root in roots]
    except RecursionError:
        return [], [
            Problem(display, 1, 1, "", "yaml-syntax", "error", "YAML nests too deeply (a recursive alias?)")
        ]
    return documents, builder.problems


def _is_empty(root: Node | None) -> bool:
    return root is None or (isinstance(root, ScalarNode) and root.tag == _TAG + "null")


def _syntax_problem(display: str, exc: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    message = exc.problem or exc.context or "invalid YAML"
    started = exc.context_mark
    if exc.context and started is not None and (started.line + 1, started.column + 1) != (line, col):
        message += f" ({exc.context} at line {started.line + 1}, column {started.column + 1})"
    lines = text.splitlines()
    indent = (
        lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())] if line <= len(lines) else ""
    )
    hint = "indent with spaces: YAML does not allow tabs" if "\t" in indent else ""
    return Problem(display, line, col, "", "yaml-syntax", "error", f"YAML syntax error: {message}", hint)
