"""Shared fixtures: the real systems built once per test session, in memory."""

from __future__ import annotations

import json

import pytest

from tap import config
from tap.build import BOOTSTRAP, Target, build_target
from tap.package import FunctionPackager
from tap.paths import CONFIG_DIR


class BuiltSystems:
    """Every target of the real config, built once; templates parsed on demand."""

    def __init__(self):
        packager = FunctionPackager()
        self.targets: dict[str, Target] = {}
        for system in (BOOTSTRAP, *config.SYSTEMS):
            envs = [None] if system == BOOTSTRAP else config.environments(system)
            for env in envs:
                target = Target(system, env)
                build_target(target, packager, CONFIG_DIR)
                self.targets[target.folder] = target

    def template(self, folder: str, stack: str) -> dict:
        emission = self.targets[folder].emission
        return json.loads(emission.files[f"{stack}.template.json"])

    def all_templates(self):
        for folder, target in self.targets.items():
            for info in target.emission.templates:
                yield f"{folder}/{info.file_name}", json.loads(info.stack.body)


@pytest.fixture(scope="session")
def built() -> BuiltSystems:
    return BuiltSystems()
