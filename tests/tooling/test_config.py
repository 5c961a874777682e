"""Config loading: every kind of user mistake gives one clear message and exit code 2."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tap import build, config
from tap.config.microservices import MicroservicesSettings
from tap.errors import ConfigError, UserError
from tap.paths import CONFIG_DIR


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of the real config/ folder."""
    copy = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, copy)
    return copy


def write(config_dir: Path, system: str, env: str, text: str) -> None:
    (config_dir / system / f"{env}.toml").write_text(text)


def error_for(config_dir: Path, system: str, env: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        config.load(system, env, config_dir)
    return caught.value


def test_real_config_files_all_load():
    for system in config.SYSTEMS:
        envs = config.environments(system)
        assert {"dev", "staging", "prod"} <= set(envs)
        for env in envs:
            settings = config.load(system, env)
            assert settings.env == env


def test_unknown_key_is_named_with_a_suggestion(config_dir):
    write(config_dir, "microservices", "dev", '[network]\naz_cont = 2\n')
    err = error_for(config_dir, "microservices", "dev")
    assert err.file == "config/microservices/dev.toml"
    assert err.key == "network.az_cont"
    assert "did you mean 'az_count'" in str(err)
    assert "az_count" in err.allowed and "cidr" in err.allowed


def test_unknown_top_level_table_lists_allowed_keys(config_dir):
    write(config_dir, "distribution", "dev", "[storagee]\nlog_expiry_days = 3\n")
    err = error_for(config_dir, "distribution", "dev")
    assert err.key == "storagee"
    assert "storage" in err.allowed and "region" in err.allowed


def test_wrong_type_names_key_value_and_expected_type(config_dir):
    write(config_dir, "microservices", "dev", '[network]\naz_count = "two"\n')
    err = error_for(config_dir, "microservices", "dev")
    assert err.key == "network.az_count"
    assert '"two"' in err.problem
    assert err.allowed == "a whole number"


def test_boolean_is_not_accepted_as_a_number(config_dir):
    write(config_dir, "microservices", "dev", "[network]\naz_count = true\n")
    assert error_for(config_dir, "microservices", "dev").key == "network.az_count"


def test_out_of_range_number_shows_the_range(config_dir):
    write(config_dir, "microservices", "dev", "[network]\naz_count = 5\n")
    err = error_for(config_dir, "microservices", "dev")
    assert err.key == "network.az_count"
    assert "5" in err.problem
    assert "from 2 to 3" in err.allowed


def test_choice_outside_the_list_shows_the_choices(config_dir):
    write(config_dir, "microservices", "dev", '[network]\nnat = "none"\n')
    err = error_for(config_dir, "microservices", "dev")
    assert err.key == "network.nat"
    assert err.allowed == 'one of "per-az", "single"'


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/33", "10.0.0.1/16", "300.0.0.0/16", "10.0.0.0/8", "ten/16", "10.0.0.0/24"]
)
def test_malformed_or_unsuitable_cidr_is_rejected(config_dir, cidr):
    write(config_dir, "microservices", "dev", f'[network]\ncidr = "{cidr}"\n')
    err = error_for(config_dir, "microservices", "dev")
    assert err.key == "network.cidr"
    assert cidr in err.problem
    assert "CIDR" in err.allowed


def test_region_other_than_us_east_1_is_rejected_for_distribution(config_dir):
    write(config_dir, "distribution", "dev", 'region = "eu-west-1"\n')
    err = error_for(config_dir, "distribution", "dev")
    assert err.key == "region"
    assert "us-east-1" in err.allowed and "Lambda@Edge" in err.allowed


def test_malformed_region_is_rejected(config_dir):
    write(config_dir, "microservices", "dev", 'region = "Europe"\n')
    err = error_for(config_dir, "microservices", "dev")
    assert err.key == "region"
    assert "us-east-1" in err.allowed


def test_tag_with_reserved_prefix_is_rejected(config_dir):
    write(config_dir, "microservices", "dev", '[tags]\n"aws:owner" = "me"\n')
    err = error_for(config_dir, "microservices", "dev")
    assert err.key == "tags"
    assert "aws:" in err.allowed


def test_non_string_tag_value_names_the_tag(config_dir):
    write(config_dir, "microservices", "dev", "[tags]\nowner = 3\n")
    assert error_for(config_dir, "microservices", "dev").key == "tags.owner"


def test_toml_syntax_error_names_file_and_line(config_dir):
    write(config_dir, "distribution", "staging", "[storage\nlog_expiry_days = 3\n")
    with pytest.raises(UserError) as caught:
        config.load("distribution", "staging", config_dir)
    message = str(caught.value)
    assert message.startswith("config/distribution/staging.toml: not valid TOML")
    assert "line 1" in message


def test_unknown_system_lists_the_systems():
    with pytest.raises(UserError, match=r"unknown system 'billing'; allowed: distribution, microservices"):
        config.load("billing", "dev")


def test_unknown_environment_lists_the_environments():
    with pytest.raises(UserError) as caught:
        config.load("distribution", "qa")
    assert str(caught.value) == (
        "unknown environment 'qa' for system 'distribution'; allowed: dev, prod, staging"
    )


def test_environment_file_name_must_be_a_simple_name(config_dir):
    write(config_dir, "distribution", "Dev_Copy", "")
    err = error_for(config_dir, "distribution", "Dev_Copy")
    assert "Dev_Copy" in err.problem


def test_settings_are_frozen():
    settings = config.load("microservices", "dev")
    with pytest.raises(AttributeError):
        settings.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.tags["owner"] = "someone"  # type: ignore[index]


def test_defaults_fill_keys_left_out(config_dir):
    write(config_dir, "microservices", "dev", "")
    settings = config.load("microservices", "dev", config_dir)
    assert settings == MicroservicesSettings(env="dev")
    assert settings.network.cidr == "10.0.0.0/16"


# --- through the command line ---------------------------------------------


def run_build(config_dir: Path, tmp_path: Path, *args: str) -> int:
    return build.main([*args, "--no-lint"], config_dir=config_dir, templates_dir=tmp_path / "templates")


def test_config_mistake_exits_2_with_one_line_and_no_traceback(config_dir, tmp_path, capsys):
    write(config_dir, "microservices", "prod", "[network]\nnat = 'both'\n")
    assert run_build(config_dir, tmp_path) == 2
    err = capsys.readouterr().err
    assert err == (
        'error: config/microservices/prod.toml: network.nat: "both" is not one of the choices; '
        'allowed: one of "per-az", "single"\n'
    )


def test_unknown_system_on_the_command_line_exits_2(config_dir, tmp_path, capsys):
    assert run_build(config_dir, tmp_path, "--system", "billing") == 2
    assert "unknown system 'billing'" in capsys.readouterr().err


def test_unknown_environment_on_the_command_line_exits_2(config_dir, tmp_path, capsys):
    assert run_build(config_dir, tmp_path, "--system", "distribution", "--env", "qa") == 2
    assert "allowed: dev, prod, staging" in capsys.readouterr().err


# Tables whose keys are free-form by design (tag keys, environment variable names).
FREE_FORM = {"tags", "environment", "secrets"}
_HEADER = re.compile(r"^\s*(\[\[?)\s*([\w.]+)\s*\]\]?\s*$")
_ASSIGNMENT = re.compile(r"^\s*([\w-]+)\s*=")


def key_lines(text: str):
    """(line number, dotted key as errors name it) for every `key = value` line of a TOML file."""
    table, counts = "", {}
    for number, line in enumerate(text.splitlines()):
        header = _HEADER.match(line)
        if header:
            brackets, name = header.groups()
            if brackets == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = f"{name}[{counts[name]}]"
            else:
                table = name
            continue
        assignment = _ASSIGNMENT.match(line)
        if assignment:
            key = assignment.group(1)
            yield number, f"{table}.{key}" if table else key


def _config_keys():
    for path in sorted(CONFIG_DIR.glob("*/*.toml")):
        for number, key in key_lines(path.read_text()):
            tables = {part.split("[")[0] for part in key.split(".")[:-1]}
            if not tables & FREE_FORM:
                yield pytest.param(path, number, key, id=f"{path.parent.name}/{path.stem}:{key}")


def test_key_lines_name_keys_as_errors_do():
    text = 'region = "x"\n[api]\nstage = "v1"\n[[api.plans]]\nname = "a"\n[[api.plans]]\nname = "b"\n'
    assert [key for _, key in key_lines(text)] == [
        "region", "api.stage", "api.plans[0].name", "api.plans[1].name"
    ]


@pytest.mark.parametrize("path,number,key", list(_config_keys()))
def test_a_typo_in_any_key_of_any_config_file_exits_2_naming_the_key(
    path, number, key, tmp_path, capsys
):
    copy = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, copy)
    leaf = key.rsplit(".", 1)[-1]
    typo = leaf[:-1] + leaf[-1] * 2  # "cidr" -> "cidrr"
    target = copy / path.parent.name / path.name
    lines = target.read_text().splitlines(keepends=True)
    lines[number] = lines[number].replace(leaf, typo, 1)
    target.write_text("".join(lines))

    status = build.main(
        ["--system", path.parent.name, "--env", path.stem, "--no-lint"],
        config_dir=copy, templates_dir=tmp_path / "templates",
    )
    err = capsys.readouterr().err
    assert status == 2
    typo_key = key[: -len(leaf)] + typo
    assert f"config/{path.parent.name}/{path.name}: {typo_key}: unknown setting" in err
    assert "Traceback" not in err


def test_every_region_a_config_may_name_is_one_cfn_lint_lints_for():
    from cfnlint.helpers import REGIONS

    from tap.config.checks import known_regions

    assert "us-east-1" in known_regions()
    assert set(known_regions()) <= set(REGIONS)
