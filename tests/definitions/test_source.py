from __future__ import annotations

from provisioner.definitions.source import join_pointer, parse_documents, split_pointer

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
    text = "on: 2024-01-01\nno: yes\nn: 3\nf: 1.5\nz: ~\ne: 1e3\nx: 0x1F\no: 0o17\nt: True\ns: off\nd: 1_000\n"
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
