"""The canonical form of emitted files: the same data and bytes as the slow, obvious way."""

from __future__ import annotations

import json

import pytest
from troposphere import Sub, sns

from tap import canonical
from tap.stacktree import Stack
from tap.systems import Tools
from tap.systems.microservices import build
from tests.systems.microservices import config, service
from tests.systems.microservices import settings as microservices_settings


def every_stack(built):
    for target in built.targets.values():
        yield from target.emission.root.walk()


def test_documents_are_what_troposphere_makes_of_every_shipped_template(built):
    for stack in every_stack(built):
        assert stack.document == stack.template.to_dict(), stack.name


def test_bytes_are_json_dumps_sorted_with_a_two_space_indent(built):
    for stack in every_stack(built):
        assert stack.body == (json.dumps(stack.template.to_dict(), sort_keys=True, indent=2) + "\n").encode()


@pytest.mark.parametrize("document", [
    {"b": [1, 2.5, True, None], "a": {"z": "x", "y": []}, "c": {}},
    {"Description": "caf\u00e9 \u2014 \u00d7 2"},  # beyond ASCII: escaped, as json.dumps does
    [],
])
def test_any_document_gets_the_bytes_json_dumps_gives(document):
    assert canonical.dumps(document) == (json.dumps(document, sort_keys=True, indent=2) + "\n").encode()


def test_a_many_service_platform_renders_the_same_both_ways():
    services = [service(f"svc-{n:02d}", priority=n + 1) for n in range(40)]
    system = build(microservices_settings(config(services, load_balancer={"count": 3})), Tools())
    for stack in system.root.walk():
        assert stack.document == stack.template.to_dict(), stack.name


def test_a_template_beyond_ascii_gets_the_bytes_json_dumps_gives():
    stack = Stack("notices", "Avis \u00e0 la client\u00e8le")
    stack.add(sns.Topic("Topic", DisplayName=Sub("caf\u00e9 ${AWS::Region}")))
    expected = json.dumps(stack.template.to_dict(), sort_keys=True, indent=2) + "\n"
    assert stack.body == expected.encode("ascii")
    assert b"\\u00e9" in stack.body
