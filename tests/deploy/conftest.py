"""Fixtures for the deploy tool's tests."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from tap.deploy.aws import RETRIES, Aws


def templates_by_path(built, folder: str) -> dict[tuple[str, ...], dict]:
    """Every template of a built folder by its path of nested-stack logical ids."""
    emission = built.targets[folder].emission
    found = {}
    for info in emission.templates:
        path, stack = [], info.stack
        while stack.parent is not None:
            (nested,) = [n for n in stack.parent.children if n.stack is stack]
            path.insert(0, nested.resource.title)
            stack = stack.parent
        found[tuple(path)] = json.loads(info.stack.body)
    return found


@pytest.fixture
def distribution_dev(built):
    return templates_by_path(built, "distribution/dev")


@pytest.fixture
def microservices_dev(built):
    return templates_by_path(built, "microservices/dev")


def changed(templates: dict, path: tuple, logical_id: str, prop: str, value) -> dict:
    """A copy of `templates` where one property changed, with the parent's TemplateURL
    changed as a new child hash would change it."""
    result = copy.deepcopy(templates)
    result[path]["Resources"][logical_id]["Properties"][prop] = value
    for depth in range(len(path), 0, -1):
        parent, child = path[: depth - 1], path[depth - 1]
        url = result[parent]["Resources"][child]["Properties"]["TemplateURL"]["Fn::Sub"]
        url[0] = url[0].replace(".json", "-changed.json")
    return result


@pytest.fixture
def cloudformation():
    """A real CloudFormation client (never reaching AWS: tests stub it)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="us-east-1")
    return session.client("cloudformation", config=RETRIES)


@pytest.fixture
def aws():
    """The deploy tool's clients on moto in this process (modules that need the emulator's
    CloudFormation define their own)."""
    with mock_aws():
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                region_name="us-east-1")
        yield Aws(session)
