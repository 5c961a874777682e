"""`python build.py`: determinism, --check, quotas, lint gating, summary."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from troposphere import logs, sns

from tap import build, paths
from tap.emit import emit_tree
from tap.errors import BuildError
from tap.lint import RULES_DIR, Linter
from tap.quotas import Usage
from tap.stacktree import Stack
from tap.systems import SystemBuild


def all_files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }


def test_two_builds_are_byte_identical(tmp_path):
    first, second = tmp_path / "one" / "templates", tmp_path / "two" / "templates"
    assert build.main(["--no-lint"], templates_dir=first) == 0
    assert build.main(["--no-lint"], templates_dir=second) == 0
    one, two = all_files(first), all_files(second)
    assert len(one) > 10
    assert one == two


def test_committed_templates_are_current():
    assert build.main(["--check", "--no-lint"]) == 0


def test_build_from_the_command_line_in_a_fresh_process(tmp_path):
    """build.py works from any working directory, as the README runs it."""
    result = subprocess.run(
        [sys.executable, str(paths.REPO / "build.py"), "--check", "--no-lint",
         "--system", "bootstrap"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "bootstrap" in result.stdout


@pytest.fixture
def built_copy(tmp_path) -> Path:
    templates = tmp_path / "templates"
    assert build.main(["--no-lint"], templates_dir=templates) == 0
    return templates


def test_check_lists_a_changed_file_and_exits_1(built_copy, capsys):
    changed = built_copy / "distribution" / "dev" / "storage.template.json"
    changed.write_text(changed.read_text().replace("AES256", "aws:kms"))
    capsys.readouterr()
    assert build.main(["--check", "--no-lint"], templates_dir=built_copy) == 1
    err = capsys.readouterr().err
    assert "templates/distribution/dev/storage.template.json (differs)" in err
    assert err.count("(differs)") == 1


def test_check_lists_missing_and_unexpected_files(built_copy, capsys):
    (built_copy / "microservices" / "prod" / "network.template.json").unlink()
    (built_copy / "microservices" / "prod" / "old.template.json").write_text("{}")
    (built_copy / "distribution" / "qa").mkdir()
    (built_copy / "distribution" / "qa" / "root.template.json").write_text("{}")
    capsys.readouterr()
    assert build.main(["--check", "--no-lint"], templates_dir=built_copy) == 1
    err = capsys.readouterr().err
    assert "templates/microservices/prod/network.template.json (missing)" in err
    assert "templates/microservices/prod/old.template.json (not produced by the build)" in err
    assert "templates/distribution/qa/root.template.json (not produced by the build)" in err


def test_check_writes_nothing(built_copy):
    changed = built_copy / "bootstrap" / "bootstrap.template.json"
    changed.write_text("{}")
    build.main(["--check", "--no-lint"], templates_dir=built_copy)
    assert changed.read_text() == "{}"


def test_a_build_removes_files_it_no_longer_makes(built_copy):
    stray = built_copy / "microservices" / "dev" / "old.template.json"
    stray.write_text("{}")
    assert build.main(["--no-lint"], templates_dir=built_copy) == 0
    assert not stray.exists()


def test_system_and_env_filters_build_only_that_folder(tmp_path, capsys):
    templates = tmp_path / "templates"
    assert build.main(["--system", "microservices", "--env", "prod", "--no-lint"],
                      templates_dir=templates) == 0
    written = sorted(p.relative_to(templates).as_posix() for p in templates.rglob("*.json"))
    assert {"microservices/prod/manifest.json", "microservices/prod/network.template.json",
            "microservices/prod/root.template.json"} <= set(written)
    assert all(path.startswith("microservices/prod/") for path in written)


def test_summary_table_has_a_row_per_folder(tmp_path, capsys):
    assert build.main(["--system", "distribution", "--no-lint"], templates_dir=tmp_path / "t") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["system", "env", "templates", "resources", "bytes", "lint", "seconds"]
    rows = [line.split() for line in out[1:4]]
    assert [row[:2] for row in rows] == [["distribution", "dev"], ["distribution", "prod"],
                                         ["distribution", "staging"]]
    assert all(row[5] == "skipped" for row in rows)


# --- quotas --------------------------------------------------------------------


def oversized_tree(topics: int) -> Stack:
    root = Stack.root("root", "too big")
    child = Stack("topics", "many topics")
    for index in range(topics):
        child.add(sns.Topic(f"Topic{index}"))
    root.nest(child)
    return root


def test_a_template_with_more_than_500_resources_is_a_build_error_naming_it():
    with pytest.raises(BuildError) as caught:
        oversized_tree(501)
    assert str(caught.value) == (
        "topics.template.json crosses CloudFormation quotas: resources: more than 500"
    )


def test_500_resources_fit():
    emit_tree(oversized_tree(500), "test/dev", {})


@pytest.mark.parametrize("kind", ["parameters", "outputs"])
def test_more_than_200_parameters_or_outputs_are_caught(kind):
    root = Stack.root("root", "r")
    add = {
        "parameters": lambda index: root.parameter(f"P{index}", Default="x"),
        "outputs": lambda index: root.output(f"O{index}", "x", "o"),
    }[kind]
    for index in range(200):
        add(index)
    with pytest.raises(BuildError, match=f"root.template.json crosses CloudFormation quotas: "
                                         f"{kind}: more than 200"):
        add(200)


def test_usage_reports_every_quota_crossed():
    usage = Usage(resources=501, parameters=201, outputs=10, mappings=0, bytes=1_000_001,
                  longest_logical_id="L" * 256)
    assert usage.breaches() == [
        "resources: 501 > 500", "parameters: 201 > 200", "bytes: 1000001 > 1000000",
        "logical id length: 256 > 255",
    ]


def test_a_template_over_one_megabyte_is_caught():
    root = Stack.root("root", "r")
    for index in range(60):
        root.add(sns.Topic(f"Topic{index}", DisplayName="x" * 20_000))
    with pytest.raises(BuildError, match=r"bytes: 1\d{6} > 1000000"):
        emit_tree(root, "test/dev", {})


def test_a_quota_breach_fails_the_command_with_exit_1(tmp_path, monkeypatch, capsys):
    def too_many_topics(system):
        return lambda settings, packager: SystemBuild(oversized_tree(501))

    monkeypatch.setattr(build, "system_builder", too_many_topics)
    status = build.main(["--system", "microservices", "--env", "dev", "--no-lint"],
                        templates_dir=tmp_path / "templates")
    assert status == 1
    assert "topics.template.json crosses CloudFormation quotas" in capsys.readouterr().err


# --- lint ----------------------------------------------------------------------


def tree_with_unretained_log_group() -> Stack:
    root = Stack.root("root", "lint fixture")
    child = Stack("logging", "a log group without deletion policies")
    child.add(logs.LogGroup("AppLogs", RetentionInDays=7))
    root.nest(child)
    return root


def test_a_lint_finding_fails_the_build_naming_file_resource_and_rule(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        build, "system_builder", lambda system: lambda s, p: SystemBuild(tree_with_unretained_log_group())
    )
    status = build.main(["--system", "distribution", "--env", "dev"], templates_dir=tmp_path / "templates")
    assert status == 1
    err = capsys.readouterr().err
    assert "templates/distribution/dev/logging.template.json" in err
    assert "Resources/AppLogs: I3011 'DeletionPolicy' is a required property" in err
    assert "Resources/AppLogs: I3011 'UpdateReplacePolicy' is a required property" in err


def test_lint_results_are_cached_by_content(tmp_path):
    body = tree_with_unretained_log_group().children[0].stack.body
    first = Linter("us-east-1", cache_dir=tmp_path)
    findings = first.lint("a.json", body, "sha-of-body")
    assert (first.hits, first.misses) == (0, 1)
    second = Linter("us-east-1", cache_dir=tmp_path)
    assert second.lint("b.json", body, "sha-of-body") == [
        type(f)(file="b.json", resource=f.resource, rule=f.rule, message=f.message, line=f.line)
        for f in findings
    ]
    assert (second.hits, second.misses) == (1, 0)
    assert second._runner is None  # cfn-lint never loaded


def test_the_same_bytes_are_cached_apart_in_prod_and_elsewhere(tmp_path):
    """E9014 holds in prod only, so whether a path is in prod is part of the cache key."""
    body = (paths.REPO / "tests/lintrules/templates/bad/prod/deletion_protection.json").read_bytes()
    first = Linter("us-east-1", cache_dir=tmp_path)
    assert first.lint("templates/distribution/dev/database.template.json", body, "sha-of-body") == []
    in_prod = first.lint("templates/distribution/prod/database.template.json", body, "sha-of-body")
    assert [finding.rule for finding in in_prod] == ["E9014"] * 5
    assert (first.hits, first.misses) == (0, 2)
    second = Linter("us-east-1", cache_dir=tmp_path)
    assert second.lint("templates/microservices/prod/database.template.json", body, "sha-of-body") == [
        replace(finding, file="templates/microservices/prod/database.template.json") for finding in in_prod
    ]
    assert second.lint("templates/microservices/staging/database.template.json", body, "sha-of-body") == []
    assert (second.hits, second.misses) == (2, 0)


def test_a_prod_config_without_deletion_protection_fails_the_build(tmp_path, capsys):
    config_dir = tmp_path / "config"
    shutil.copytree(paths.CONFIG_DIR, config_dir)
    prod = config_dir / "microservices" / "prod.toml"
    text = prod.read_text()
    assert text.count("deletion_protection = true") == 2  # the load balancer and the database
    prod.write_text(text.replace("deletion_protection = true", "deletion_protection = false"))
    status = build.main(["--system", "microservices", "--env", "prod"],
                        config_dir=config_dir, templates_dir=tmp_path / "templates")
    assert status == 1
    findings = sorted(line.strip() for line in capsys.readouterr().err.splitlines() if " E9014 " in line)
    assert [(finding.split(":")[0], finding.split(": ")[1]) for finding in findings] == [
        ("templates/microservices/prod/cluster.template.json", "Resources/LoadBalancer0"),
        ("templates/microservices/prod/database.template.json", "Resources/Database"),
    ]


def test_a_clean_template_lints_clean():
    stack = Stack.root("root", "clean")
    stack.add(sns.Topic("Topic"))
    assert Linter("us-east-1", cache_dir=None).lint("x", stack.body, stack.sha256) == []


def test_in_process_rules_match_the_command_line_rules():
    import yaml

    in_process = yaml.safe_load((paths.REPO / "src/tap/cfnlint.yaml").read_text())
    command_line = yaml.safe_load((paths.REPO / ".cfnlintrc").read_text())
    assert in_process["include_checks"] == command_line["include_checks"] == ["I3011"]
    assert [paths.REPO / rules for rules in command_line["append_rules"]] == [RULES_DIR]
