from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.definitions.source import join_pointer, parse_documents, read_documents, split_pointer
from provisioner.definitions.yaml_reader import DefinitionDumper

TEXT = """\
id: mesh
thresholds:
  critical: 5%
  warning: 2%
tags: [a, "b/c"]
services:
  - service: checkout
    thresholds: {critical: 1%}
"""


def test_data_and_locations_of_pointers() -> None:
    (document,), problems = parse_documents(TEXT, "m.yaml")
    assert problems == []
    assert document.data["services"][0]["thresholds"] == {"critical": "1%"}
    assert document.locate("/thresholds/warning") == (4, 12)
    assert document.locate("/thresholds/warning", key=True) == (4, 3)
    assert document.locate("/thresholds") == (2, 1)  # a block mapping is located at its key
    assert document.locate("/tags/1") == (5, 11)
    assert document.locate("/services/0/thresholds/critical") == (8, 28)
    assert document.locate("/services/0/thresholds/missing") == (8, 17)  # the deepest node reached


def test_pointer_tokens_are_escaped() -> None:
    pointer = join_pointer("", "a/b", "c~d", 0)
    assert pointer == "/a~1b/c~0d/0"
    assert split_pointer(pointer) == ["a/b", "c~d", "0"]


def test_yaml_1_2_core_schema_types_plain_scalars_as_editors_do() -> None:
    text = (
        "on: 2024-01-01\nno: yes\nn: 3\nf: 1.5\nz: ~\ne: 1e3\nx: 0x1F\no: 0o17\nt: True\ns: off\nd: 1_000\n"
    )
    (document,), _ = parse_documents(text, "x.yaml")
    assert document.data == {
        "on": "2024-01-01", "no": "yes", "n": 3, "f": 1.5, "z": None, "e": 1000, "x": 31, "o": 15,
        "t": True, "s": "off", "d": "1_000",
    }  # fmt: skip
    assert isinstance(document.data["e"], int)


def test_duplicate_keys_and_merge_keys() -> None:
    text = "base: &b {a: 1, b: 2}\nitem:\n  <<: *b\n  b: 3\n  c: 4\n  c: 5\n"
    (document,), problems = parse_documents(text, "x.yaml")
    assert document.data["item"] == {"b": 3, "c": 4, "a": 1}
    assert [(p.code, p.line, p.col, p.pointer) for p in problems] == [("duplicate-key", 6, 3, "/item/c")]


def test_syntax_error_has_line_and_column() -> None:
    documents, (problem,) = parse_documents("a: 1\nb: [1, 2\nc: 3\n", "x.yaml")
    assert documents == []
    assert (problem.code, problem.line) == ("yaml-syntax", 3)
    assert "while parsing a flow sequence at line 2, column 4" in problem.message


def test_unsupported_tags_are_problems() -> None:
    (document,), (problem,) = parse_documents("a: !Ref other\n", "x.yaml")
    assert document.data == {"a": None}
    assert (problem.code, problem.pointer, problem.line, problem.col) == ("yaml-tag", "/a", 1, 4)


def test_several_documents_and_empty_ones() -> None:
    documents, problems = parse_documents("---\na: 1\n---\n---\nb: 2\n", "x.yaml")
    assert [d.data for d in documents] == [{"a": 1}, {"b": 2}]
    assert problems == []


def test_aliases_and_merges_keep_every_value_locatable() -> None:
    text = (
        "base: &b\n  a: 1\n  nested: {x: 2}\n"
        "item:\n  name: n\n  <<: [*b, {a: 9, z: 3}]\n  after: [4, *b]\n"
        "again: *b\n"
    )
    (document,), problems = parse_documents(text, "x.yaml")
    assert problems == []
    assert document.data["item"] == {"name": "n", "after": [4, {"a": 1, "nested": {"x": 2}}],
                                     "a": 1, "nested": {"x": 2}, "z": 3}  # fmt: skip
    assert document.locate("/item/after/1") == (7, 14)  # an alias is located where it is used
    assert document.locate("/item/after/1/nested/x") == (3, 15)  # what it copies, where that was written
    assert document.locate("/item/nested/x") == (3, 15)  # merged keys too
    assert document.locate("/item/a") == (2, 6)  # the first source wins
    assert document.locate("/item/z") == (6, 22)
    assert document.locate("/again") == (8, 8)
    assert document.locate("/item/after") == (7, 10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [1, *x]\n", ("yaml-syntax", 1, 11, "the alias *x refers to a value that contains it")),
        ("a: *nowhere\n", ("yaml-syntax", 1, 4, "found undefined alias *nowhere")),
        ("a: 1\nb: 1e999\n", ("number-out-of-range", 2, 4, "the number 1e999 is out of range")),
        ("a: [.inf]\n", ("number-out-of-range", 1, 5, ".inf is not a number JSON or Datadog accepts")),
        ("a: -9223372036854775809\n", ("number-out-of-range", 1, 4, "is out of range")),
        ("a: !!int 1.5\n", ("yaml-tag", 1, 4, "'1.5' is not a YAML 1.2 !!int")),
        ("a: !!set {x}\n", ("yaml-tag", 1, 4, "unsupported YAML tag tag:yaml.org,2002:set")),
        ("? [k]\n: v\nb: 1\n", ("yaml-key", 1, 3, "a mapping key must be a plain value")),
        ("a: 1\nb: x\x00y\n", ("yaml-syntax", 2, 5, "unacceptable character #x0000")),
        ("a: 1\nb: \ud800\n", ("yaml-syntax", 2, 4, "not Unicode text")),
    ],
)
def test_reading_problems_are_located(text: str, expected: tuple[str, int, int, str]) -> None:
    _, problems = parse_documents(text, "x.yaml")
    (problem,) = problems
    code, line, col, message = expected
    assert (problem.code, problem.line, problem.col) == (code, line, col)
    assert message in problem.message


def test_explicit_tags_of_the_core_schema_are_honoured() -> None:
    text = "a: !!str 5\nb: !!float 2\nc: !!int '7'\nd: !!bool true\ne: !!null ''\nf: ! 12\ng: !!timestamp 2024-01-01\n"
    (document,), problems = parse_documents(text, "x.yaml")
    assert problems == []
    assert document.data == {"a": "5", "b": 2.0, "c": 7, "d": True, "e": None, "f": "12", "g": "2024-01-01"}


def test_the_biggest_64_bit_integers_are_still_numbers() -> None:
    (document,), problems = parse_documents("a: 9223372036854775807\nb: -9223372036854775808\n", "x.yaml")
    assert problems == []
    assert document.data == {"a": 2**63 - 1, "b": -(2**63)}


def test_an_encoding_error_points_at_its_byte(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("id: ok\nname: 'caf\u00e9 \u00e9'\nmessage: bad \xff here\n".encode("latin-1"))
    documents, (problem,) = read_documents(path, "x.yaml")
    assert documents == []
    assert (problem.code, problem.line, problem.col) == ("encoding", 2, 11)
    assert (
        problem.message.startswith("not UTF-8 text: byte 0xe9") and problem.hint == "save the file as UTF-8"
    )


def test_a_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes("\ufeffid: ok\n".encode())
    (document,), problems = read_documents(path, "x.yaml")
    assert (document.data, problems) == ({"id": "ok"}, [])


def test_only_regular_files_are_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    documents, (problem,) = read_documents(fifo, "pipe.yaml")  # would block forever if opened for reading
    assert (documents, problem.code) == ([], "not-a-file")


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.text(max_size=12) | st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.none(),
        max_size=4,
    )
)
def test_what_the_definition_dumper_writes_reads_back_the_same(data: dict[str, object]) -> None:
    (document,), problems = parse_documents(yaml.dump({"d": data}, Dumper=DefinitionDumper), "x.yaml")
    assert (document.data["d"], problems) == (data, [])


@pytest.mark.parametrize("text", ["1e3", "0o17", "1.0e3", "1e-3", "yes", "off", "~", "12", ".inf"])
def test_strings_yaml_1_2_would_type_are_quoted(text: str) -> None:
    assert yaml.dump(text, Dumper=DefinitionDumper).startswith(("'", '"'))


YAML_PIECES = st.sampled_from(
    ["a", "b", ": ", "- ", "\n", "  ", "&x ", "*x", "<<: ", "[", "]", "{", "}", ", ", "? ", "!!int ", "!t ",
     "1e3", "yes", "'q'", "---\n", "~", "9" * 25, "#c", "|\n  t\n", "\t", "é"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(YAML_PIECES, max_size=40).map("".join))
def test_reading_never_raises_and_every_problem_is_inside_the_text(text: str) -> None:
    documents, problems = parse_documents(text, "x.yaml")
    lines = text.count("\n") + 1
    for problem in problems:
        assert 1 <= problem.line <= lines + 1 and problem.col >= 1
    for document in documents:
        for pointer in _pointers(document.data):
            line, col = document.locate(pointer)
            assert 1 <= line <= lines + 1 and col >= 1
        assert len(document.positions) == len(list(_pointers(document.data)))  # one slot per value


def _pointers(value: object, pointer: str = "") -> Iterator[str]:
    yield pointer
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _pointers(item, join_pointer(pointer, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _pointers(item, join_pointer(pointer, index))


WORDS = st.text(st.sampled_from("ab1.-:#&*!'\"[]{}, \n\té~<"), max_size=6)
NESTED = st.recursive(
    WORDS | st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(WORDS, NESTED, max_size=4), st.sampled_from([None, True, False]))
def test_every_value_is_located_where_pyyaml_composes_it(data: dict[str, object], flow: bool | None) -> None:
    """PyYAML's own node tree is the oracle: a value is located at its node, a block collection (or any
    value asked with key=True) at its key."""
    text = yaml.dump({"d": data}, Dumper=DefinitionDumper, default_flow_style=flow, allow_unicode=True)
    (document,), problems = parse_documents(text, "x.yaml")
    assert (document.data, problems) == ({"d": data}, [])
    for pointer, node, key in _composed(yaml.compose(text, Loader=yaml.SafeLoader)):
        block = isinstance(node, yaml.CollectionNode) and not node.flow_style
        assert document.locate(pointer) == _start(key if key is not None and block else node)
        assert document.locate(pointer, key=True) == _start(key if key is not None else node)


def _start(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _composed(
    node: yaml.Node, pointer: str = "", key: yaml.Node | None = None
) -> Iterator[tuple[str, yaml.Node, yaml.Node | None]]:
    """Every node with its pointer and its key's node (None for list items and the root)."""
    yield pointer, node, key
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            yield from _composed(value_node, join_pointer(pointer, key_node.value), key_node)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _composed(item, join_pointer(pointer, index))
