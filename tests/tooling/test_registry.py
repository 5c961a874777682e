"""One registry of systems (tap.config.REGISTRY): config loads by it, tap.systems.builder builds by it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tap import config
from tap.config.common import SystemSettings
from tap.config.microservices import MicroservicesSettings
from tap.config.schema import setting
from tap.errors import UserError
from tap.package import FunctionPackager
from tap.stacktree import Stack
from tap.systems import SystemBuild, Tools, builder
from tap.systems.distribution import build as build_distribution
from tap.systems.microservices import build as build_microservices


def test_every_registered_system_resolves_to_its_packages_build():
    assert config.SYSTEMS == ("distribution", "microservices")
    assert config.named(config.REGISTRY["microservices"].settings) is MicroservicesSettings
    assert builder("distribution") is build_distribution
    assert builder("microservices") is build_microservices


def test_an_unregistered_system_has_no_builder_and_no_config():
    with pytest.raises(KeyError):
        builder("billing")
    with pytest.raises(UserError, match="unknown system 'billing'; allowed: distribution, microservices"):
        config.check_system("billing")


def test_config_loads_each_system_into_its_registered_settings():
    for system, entry in config.REGISTRY.items():
        assert type(config.load(system, "dev")) is config.named(entry.settings)


# --- a system added by one row -------------------------------------------------------


@dataclass(frozen=True)
class GreetingSettings(SystemSettings):
    greeting: str = setting("hello")


def build_greeting(settings: GreetingSettings, package: FunctionPackager) -> SystemBuild:
    return SystemBuild(Stack.root("root", f"{settings.greeting} ({settings.env})"))


def test_one_row_is_all_a_new_system_needs(monkeypatch, tmp_path: Path):
    registry = {**config.REGISTRY, "greeting": config.System(f"{__name__}:GreetingSettings", f"{__name__}:build_greeting")}
    monkeypatch.setattr(config, "REGISTRY", registry)
    monkeypatch.setattr(config, "SYSTEMS", tuple(sorted(registry)))  # derived once, at import
    (tmp_path / "greeting").mkdir()
    (tmp_path / "greeting" / "dev.toml").write_text('greeting = "hi"\n')
    settings = config.load("greeting", "dev", tmp_path)
    assert settings == GreetingSettings(env="dev", greeting="hi")
    assert builder("greeting")(settings, Tools()).root.template.to_dict()["Description"] == "hi (dev)"
