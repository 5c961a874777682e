"""Every user or environment mistake ends `python build.py` with one line and exit code 2.

Each row breaks a fresh scratch copy of the checkout in one way, runs the real command
line there (only the target the mistake concerns, without cfn-lint where the mistake
comes before it), and expects exit code 2, a single `error:` line naming the file or
key and what is allowed, and no traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tap.paths import REPO

COPIED = ("build.py", "requirements.txt", "src", "config", "functions")
DISTRIBUTION_DEV = ("--check", "--no-lint", "--system", "distribution", "--env", "dev")
MICROSERVICES_DEV = ("--check", "--no-lint", "--system", "microservices", "--env", "dev")


@dataclass(frozen=True)
class Mistake:
    name: str
    make: Callable[[Path], None]
    args: tuple[str, ...]
    says: str  # a fragment of the one-line message


def edit(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        path = root / relative
        text = path.read_text()
        assert old in text, f"{relative} no longer holds {old!r}: the row needs updating"
        path.write_text(text.replace(old, new, 1))
    return make


def append(relative: str, text: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        with (root / relative).open("a") as file:
            file.write(text)
    return make


def remove(relative: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        path = root / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return make


def replace_with_file(relative: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        path = root / relative
        if path.exists():
            shutil.rmtree(path)
        path.write_text("not a folder\n")
    return make


def mkdir(relative: str) -> Callable[[Path], None]:
    return lambda root: (root / relative).mkdir()


def dangling_link(relative: str) -> Callable[[Path], None]:
    return lambda root: (root / relative).symlink_to("nowhere.toml")


def clear(relative: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for path in (root / relative).iterdir():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return make


def nothing(root: Path) -> None:
    pass


def usage_plan(name: str) -> str:
    return f'\n[[api.usage_plans]]\nname = "{name}"\nrate_limit = 5\nburst_limit = 10\nquota_limit = 10000\n'


MISTAKES = [
    Mistake("toml-nested-too-deep", append("config/distribution/dev.toml", "deep = " + "[" * 3000 + "]" * 3000),
            DISTRIBUTION_DEV, "config/distribution/dev.toml: arrays or inline tables nested too deeply"),
    Mistake("environment-file-is-a-directory", mkdir("config/distribution/qa.toml"),
            ("--check", "--no-lint", "--system", "distribution"),
            "config/distribution/qa.toml: is not a regular file; allowed: a TOML file"),
    Mistake("environment-file-is-a-dangling-symlink", dangling_link("config/distribution/qa.toml"),
            ("--check", "--no-lint", "--system", "distribution"),
            "config/distribution/qa.toml: is a broken symbolic link; allowed: a TOML file"),
    Mistake("made-up-region", edit("config/microservices/dev.toml", 'region = "us-east-1"', 'region = "zz-fake-9"'),
            ("--check", "--system", "microservices", "--env", "dev"),  # with lint: cfn-lint must not see it
            'config/microservices/dev.toml: region: "zz-fake-9" is not an AWS region; allowed: one of '
            "af-south-1, "),
    Mistake("no-functions-folder", remove("functions"), DISTRIBUTION_DEV,
            "no function folder functions/license_verify/, which the build packages; allowed: a folder"),
    Mistake("function-folder-is-a-file", replace_with_file("functions/license_api"), DISTRIBUTION_DEV,
            "no function folder functions/license_api/, which the build packages"),
    Mistake("function-folder-is-empty", clear("functions/license_api"), DISTRIBUTION_DEV,
            "function folder functions/license_api/ holds no files"),
    Mistake("inline-function-missing", remove("functions/cloudfront_strip_prefix"), DISTRIBUTION_DEV,
            "no function folder functions/cloudfront_strip_prefix/"),
    Mistake("missing-shared-module", remove("functions/_shared/json_log.py"), DISTRIBUTION_DEV,
            "shared.txt: no shared module functions/_shared/json_log.py; allowed: a file of functions/_shared/"),
    Mistake("unpinned-vendored-distribution", edit("requirements.txt", "rsa==", "rsa>="), DISTRIBUTION_DEV,
            "functions/license_api/vendor.txt: rsa is not pinned in requirements.txt; allowed: "),
    Mistake("jinja-syntax-error", append("functions/license_verify/edge_config.py.j2", "{% if %}\n"),
            DISTRIBUTION_DEV, "functions/license_verify/edge_config.py.j2:"),
    Mistake("jinja-undefined-name", append("functions/license_verify/edge_config.py.j2", "{{ no_such_value }}\n"),
            DISTRIBUTION_DEV, "edge_config.py.j2: 'no_such_value' is undefined; allowed: the values the system"),
    Mistake("usage-plan-ids-collide",
            append("config/distribution/dev.toml", usage_plan("gold-1") + usage_plan("gold1")), DISTRIBUTION_DEV,
            'config/distribution/dev.toml: api.usage_plans[2].name: "gold1" makes the same logical id '
            '(Gold1UsagePlan) as usage_plans[1].name "gold-1"'),
    Mistake("service-logical-ids-collide",
            # Service `orders` with a secret named `repository` makes OrdersSecretRepository,
            # and so does the repository of a service `orders-secret` in the same shard.
            lambda root: (edit("config/microservices/dev.toml", 'name = "catalog"', 'name = "orders-secret"\nshard = 100')(root),
                          edit("config/microservices/dev.toml", '"payment-api-key"', '"repository"')(root)),
            MICROSERVICES_DEV,
            'config/microservices/dev.toml: services[1].name: "orders-secret" makes logical id '
            "OrdersSecretRepository"),
    Mistake("listener-priorities-clash",
            # Placement is checked where it lives, when the system builds: still a config mistake.
            lambda root: (edit("config/microservices/dev.toml", 'name = "orders"', 'name = "orders"\npriority = 5')(root),
                          edit("config/microservices/dev.toml", 'name = "catalog"', 'name = "catalog"\npriority = 5')(root)),
            MICROSERVICES_DEV,
            "config/microservices/dev.toml: services[1].priority: 5 (set explicitly) is also the listener-rule "
            "priority of 'orders' (services[0]); allowed: a priority no other service has: set `priority = 1`"),
    Mistake("templates-is-a-file", lambda root: (root / "templates").write_text("x\n"),
            ("--no-lint", "--system", "distribution", "--env", "dev"),
            "templates is a file; allowed: a folder"),
    Mistake("missing-system-folder", remove("config/microservices"), ("--check", "--no-lint"),
            "config/microservices/ holds no environment of system 'microservices'; allowed: one <env>.toml "
            "file per environment there (found: config/distribution/dev.toml"),
    Mistake("unknown-system", nothing, ("--check", "--system", "billing"),
            "unknown system 'billing'; allowed: distribution, microservices"),
    Mistake("unknown-environment", nothing, ("--check", "--system", "distribution", "--env", "qa"),
            "unknown environment 'qa' for system 'distribution'; allowed: dev, prod, staging"),
]


@pytest.fixture
def scratch(tmp_path):
    """A checkout with what `build.py` reads (no templates/: the rows stop before them)."""
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, symlinks=True)
        else:
            shutil.copy2(source, tmp_path / name)
    return tmp_path


def build_py(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "build.py"), *args], cwd=root, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("mistake", MISTAKES, ids=[mistake.name for mistake in MISTAKES])
def test_a_mistake_is_one_line_and_exit_code_2(scratch, mistake):
    mistake.make(scratch)
    result = build_py(scratch, *mistake.args)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert mistake.says in result.stderr
    assert result.returncode == 2


@pytest.mark.parametrize("system", ["distribution", "microservices"])
def test_the_unbroken_scratch_checkout_builds(scratch, system):
    """The control: the targets the rows break build in an unbroken scratch copy, so the
    failures above are the mistakes' and not the harness's."""
    result = build_py(scratch, "--no-lint", "--system", system, "--env", "dev")
    assert result.returncode == 0, result.stderr
