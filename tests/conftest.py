"""Shared fixtures: the real systems built once per test session, in memory."""

from __future__ import annotations

import json

import pytest

from tap import config
from tap.build import BOOTSTRAP, Target, build_target
from tap.paths import CONFIG_DIR
from tap.systems import Tools


class BuiltSystems:
    """Every target of the real config, built once; templates parsed on demand."""

    def __init__(self):
        tools = Tools()  # no stack cache: the suite builds what the code makes now
        self.targets: dict[str, Target] = {}
        for system in (BOOTSTRAP, *config.SYSTEMS):
            envs = [None] if system == BOOTSTRAP else config.environments(system)
            for env in envs:
                target = Target(system, env)
                build_target(target, tools, CONFIG_DIR)
                self.targets[target.folder] = target

    def template(self, folder: str, stack: str) -> dict:
        emission = self.targets[folder].emission
        return json.loads(emission.files[f"{stack}.template.json"])

    def stacks(self, folder: str) -> dict[str, dict]:
        """Every template of one folder, by stack name."""
        emission = self.targets[folder].emission
        return {info.stack.name: json.loads(info.stack.body) for info in emission.templates}

    def resolve(self, folder: str, stack: str, value):
        """Follow a parameter Ref up to its parent and across to the sibling output that
        feeds it, until the value is defined; returns (stack name, value)."""
        stacks = self.stacks(folder)
        emission = self.targets[folder].emission
        by_name = {info.stack.name: info.stack for info in emission.templates}
        while isinstance(value, dict) and "Ref" in value and value["Ref"] in stacks[stack].get(
            "Parameters", {}
        ):
            node = by_name[stack]
            parent = node.parent
            (nested,) = [n for n in parent.children if n.stack is node]
            passed = stacks[parent.name]["Resources"][nested.resource.title]["Properties"][
                "Parameters"][value["Ref"]]
            stack, value = parent.name, passed
            if isinstance(value, dict) and "Fn::GetAtt" in value:
                logical_id, attribute = value["Fn::GetAtt"]
                (sibling,) = [n.stack.name for n in parent.children if n.resource.title == logical_id]
                stack = sibling
                value = stacks[sibling]["Outputs"][attribute.split(".", 1)[1]]["Value"]
        return stack, value

    def all_templates(self):
        for folder, target in self.targets.items():
            for info in target.emission.templates:
                yield f"{folder}/{info.file_name}", json.loads(info.stack.body)


@pytest.fixture(scope="session")
def built() -> BuiltSystems:
    return BuiltSystems()
