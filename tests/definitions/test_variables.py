"""``${name}`` substitution copies only what holds a variable, and never changes what it was given."""

from __future__ import annotations

import copy

from provisioner.definitions.variables import UnknownVariable, substitute

VARIABLES = {"env": "prod", "cluster": "eu1"}


def test_a_definition_without_variables_is_returned_as_it_is() -> None:
    data = {"id": "a", "scope": ["team:x"], "options": {"new_group_delay": 60}, "n": 1.5, "on": True}
    unknown: list[UnknownVariable] = []
    assert substitute(data, VARIABLES, unknown) is data
    assert unknown == []


def test_only_the_containers_that_hold_a_variable_are_copied_and_the_input_is_left_alone() -> None:
    plain = {"renotify_interval": 60}
    data = {
        "name": "x",
        "scope": ["env:${env}", "price:$5"],
        "options": plain,
        "overrides": {"staging": {"scope": ["kube_cluster_name:${cluster}", "$${env}"]}},
    }
    written = copy.deepcopy(data)
    unknown: list[UnknownVariable] = []
    result = substitute(data, VARIABLES, unknown)
    assert data == written
    assert result == {
        "name": "x",
        "scope": ["env:prod", "price:$5"],
        "options": {"renotify_interval": 60},
        "overrides": {"staging": {"scope": ["kube_cluster_name:eu1", "${env}"]}},
    }
    assert result["options"] is plain
    assert unknown == []


def test_unknown_and_kept_variables_stay_and_the_unknown_are_reported_where_they_are() -> None:
    data = {"tags": ["a", "team:${team}"], "name": "${service} in ${env}"}
    unknown: list[UnknownVariable] = []
    result = substitute(data, VARIABLES, unknown, frozenset({"service"}))
    assert result == {"tags": ["a", "team:${team}"], "name": "${service} in prod"}
    assert unknown == [UnknownVariable("/tags/1", "team")]
