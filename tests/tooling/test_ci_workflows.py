"""The CI workflows in templates/ci/: one per system and environment, parsed as GitHub reads
them. A pull request tests, checks and plans as the plan role and posts the review; a push
to main deploys as the deploy role; no keys, no account, pinned actions."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tap import build, ci, config
from tap.deploy import cli, commands
from tap.paths import TEMPLATES_DIR

TARGETS = [(system, env) for system in config.SYSTEMS for env in config.environments(system)]


def load(system: str, env: str) -> dict:
    workflow = yaml.safe_load((TEMPLATES_DIR / ci.file_name(system, env)).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as true
    return workflow


def steps(job: dict) -> list[str]:
    """Each step as what it does: the action it uses (without its pin) or its command."""
    return [step["uses"].split("@")[0] if "uses" in step else step["run"].strip() for step in job["steps"]]


def runs(step_list: list[str], *commands: str) -> bool:
    return any(all(part in step for part in commands) for step in step_list)


def test_every_system_and_environment_has_a_workflow_and_nothing_else_is_there():
    expected = {ci.file_name(system, env) for system, env in TARGETS}
    present = {path.relative_to(TEMPLATES_DIR).as_posix() for path in (TEMPLATES_DIR / ci.FOLDER).iterdir()}
    assert present == expected


@pytest.mark.parametrize("system, env", TARGETS)
def test_pull_requests_and_pushes_to_main_trigger_it_and_nothing_else(system, env):
    triggers = load(system, env)["on"]
    assert triggers == {"pull_request": {"branches": ["main"]}, "push": {"branches": ["main"]}}


@pytest.mark.parametrize("system, env", TARGETS)
def test_each_job_asks_only_for_the_permissions_it_uses(system, env):
    workflow = load(system, env)
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert jobs["check"]["permissions"] == {"contents": "read"}
    assert jobs["plan"]["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    assert jobs["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}


@pytest.mark.parametrize("system, env", TARGETS)
def test_no_keys_secrets_or_account_ids_only_repository_variables(system, env):
    text = (TEMPLATES_DIR / ci.file_name(system, env)).read_text()
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "aws-session-token", "secrets.",
                      "AWS_ACCESS_KEY_ID", "pull_request_target"):
        assert forbidden not in text
    assert not re.search(r"(?<![0-9a-f])\d{12}(?![0-9a-f])", text)
    variables = ci.variable_names(system, env)
    jobs = load(system, env)["jobs"]
    plan = next(s for s in jobs["plan"]["steps"] if s.get("uses", "").startswith("aws-actions/"))
    deploy = next(s for s in jobs["deploy"]["steps"] if s.get("uses", "").startswith("aws-actions/"))
    assert plan["with"]["role-to-assume"] == f"${{{{ vars.{variables['GitHubPlanRoleArn']} }}}}"
    assert deploy["with"]["role-to-assume"] == f"${{{{ vars.{variables['GitHubDeployRoleArn']} }}}}"
    assert plan["with"]["aws-region"] == deploy["with"]["aws-region"] == config.load(system, env).region
    assert set(re.findall(r"vars\.(\w+)", text)) == set(variables.values())


@pytest.mark.parametrize("system, env", TARGETS)
def test_every_action_is_pinned_to_a_commit(system, env):
    used = [step["uses"] for job in load(system, env)["jobs"].values() for step in job["steps"] if "uses" in step]
    assert used and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", each) for each in used)


@pytest.mark.parametrize("system, env", TARGETS)
def test_a_pull_request_is_tested_checked_then_planned_and_its_review_posted(system, env):
    jobs = load(system, env)["jobs"]
    assert steps(jobs["check"])[-3:] == ["pip install -r requirements.txt", "python -m pytest -n auto -q",
                                         "python build.py --check"]
    plan = jobs["plan"]
    assert plan["needs"] == "check"
    # A fork's pull request gets no OIDC token; the job is not even tried for it.
    assert plan["if"] == ("github.event_name == 'pull_request' && "
                          "github.event.pull_request.head.repo.full_name == github.repository")
    order = steps(plan)
    assert order[:4] == ["actions/checkout", "actions/setup-python", "pip install -r requirements.txt",
                         "aws-actions/configure-aws-credentials"]
    assert f"./deploy.sh deploy {system} {env} --no-execute" in order[4]
    assert "--yes" not in order[4] and "--role-arn" not in order[4]
    assert f".cache/reviews/{commands.default_stack_name(system, env)}/*.md" in order[5]
    assert "gh pr comment" in order[5]
    assert plan["steps"][5]["if"] == "${{ !cancelled() && steps.plan.outcome != 'skipped' }}"


@pytest.mark.parametrize("system, env", TARGETS)
def test_a_push_to_main_deploys_as_the_deploy_role_with_cloudformations_execution_role(system, env):
    deploy = load(system, env)["jobs"]["deploy"]
    assert deploy["needs"] == "check"
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert "environment" not in deploy  # it would change the token's subject
    order = steps(deploy)
    assert order[3] == "aws-actions/configure-aws-credentials"
    assert order[4] == f'./deploy.sh deploy {system} {env} --yes --role-arn "$EXECUTION_ROLE_ARN"'
    variable = ci.variable_names(system, env)["CloudFormationExecutionRoleArn"]
    assert deploy["steps"][4]["env"] == {"EXECUTION_ROLE_ARN": f"${{{{ vars.{variable} }}}}"}


@pytest.mark.parametrize("system, env", TARGETS)
def test_one_deploy_of_a_stack_at_a_time_never_cancelled(system, env):
    jobs = load(system, env)["jobs"]
    stack = commands.default_stack_name(system, env)
    assert jobs["deploy"]["concurrency"] == {"group": f"{stack}-deploy", "cancel-in-progress": False}
    assert jobs["plan"]["concurrency"]["group"].startswith(f"{stack}-plan-")


def test_the_workflows_commands_are_ones_deploy_sh_accepts():
    for argv in (["deploy", "distribution", "dev", "--no-execute"],
                 ["deploy", "distribution", "dev", "--yes", "--role-arn", "arn:aws:iam::123456789012:role/x"]):
        args = cli.parse_args(argv)
        assert args.command == "deploy"
    assert cli.parse_args(argv).role_arn == "arn:aws:iam::123456789012:role/x"
    assert ci.stack_name("distribution", "dev") == commands.default_stack_name("distribution", "dev")
    review = commands.Workspace(cache_dir=Path(".cache")).review_file("tap-distribution-dev", "cs", ".md")
    assert review.as_posix() == ".cache/reviews/tap-distribution-dev/cs.md"


def test_every_run_script_is_valid_bash():
    for job in load("distribution", "dev")["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                script = re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])
                result = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
                assert result.returncode == 0, f"{shlex.quote(step.get('name', ''))}: {result.stderr}"


def test_the_build_writes_checks_and_cleans_the_workflows(tmp_path, capsys):
    templates = tmp_path / "templates"
    assert build.main(["--system", "distribution", "--env", "dev", "--no-lint"], templates_dir=templates) == 0
    assert [p.name for p in (templates / ci.FOLDER).iterdir()] == ["deploy-distribution-dev.yml"]
    assert build.main(["--no-lint"], templates_dir=templates) == 0
    (templates / ci.file_name("microservices", "prod")).unlink()
    (templates / ci.file_name("distribution", "dev")).write_text("on: push\n")
    (templates / ci.FOLDER / "deploy-distribution-qa.yml").write_text("on: push\n")
    capsys.readouterr()
    assert build.main(["--check", "--no-lint"], templates_dir=templates) == 1
    err = capsys.readouterr().err
    assert "templates/ci/deploy-microservices-prod.yml (missing)" in err
    assert "templates/ci/deploy-distribution-dev.yml (differs)" in err
    assert "templates/ci/deploy-distribution-qa.yml (not produced by the build)" in err
    assert build.main(["--no-lint"], templates_dir=templates) == 0
    assert sorted(p.name for p in (templates / ci.FOLDER).iterdir()) == sorted(
        ci.file_name(system, env).split("/")[1] for system, env in TARGETS)
