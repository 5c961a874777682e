"""The GitHub Actions workflow that tests, plans and deploys one system in one
environment from CI, rendered with jinja2 into `templates/ci/deploy-<system>-<env>.yml`.

A pull request runs the tests and `build.py --check`, then `./deploy.sh deploy
--no-execute` as the bootstrap's plan role, and posts the saved Markdown review as a
comment; a push to the deploy branch deploys with `--yes` as the deploy role, with
CloudFormation acting as the execution role. The roles come from repository variables,
so the file names no account. The template uses [[ ]] and [% %] as delimiters so
GitHub's own ${{ }} expressions pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable

from tap import yamltext

FOLDER = "ci"
DEPLOY_BRANCH = "main"  # the bootstrap's GitHubDeployBranches default
PYTHON_VERSION = "3.11"
# Actions pinned to a commit (a tag can be moved); the comment names the release.
ACTIONS = {
    "checkout": "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2",
    "setup_python": "actions/setup-python@42375524e23c412d93fb67b49958b491fce71c38  # v5.4.0",
    "credentials": "aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502  # v4.0.2",
}
# GitHub refuses a comment over 65,536 characters; the review is cut to fit.
MAX_COMMENT_BYTES = 60000


def file_name(system: str, env: str) -> str:
    """The workflow's path under templates/ (and its name in .github/workflows/)."""
    return f"{FOLDER}/deploy-{system}-{env}.yml"


def stack_name(system: str, env: str) -> str:
    """The root stack `./deploy.sh deploy <system> <env>` deploys (its default name)."""
    return f"tap-{system}-{env}"


def variable_names(system: str, env: str) -> dict[str, str]:
    """The repository variables the workflow reads, by bootstrap output."""
    stem = f"TAP_{system}_{env}".upper().replace("-", "_")
    return {
        "GitHubPlanRoleArn": f"{stem}_PLAN_ROLE_ARN",
        "GitHubDeployRoleArn": f"{stem}_DEPLOY_ROLE_ARN",
        "CloudFormationExecutionRoleArn": f"{stem}_CLOUDFORMATION_ROLE_ARN",
    }


def render_workflow(system: str, env: str, region: str) -> str:
    variables = variable_names(system, env)
    return yamltext.environment(__package__).get_template("deploy.yml.j2").render(
        system=system,
        env=env,
        region=region,
        stack=stack_name(system, env),
        branch=DEPLOY_BRANCH,
        python=PYTHON_VERSION,
        actions=ACTIONS,
        max_comment_bytes=MAX_COMMENT_BYTES,
        plan_variable=variables["GitHubPlanRoleArn"],
        deploy_variable=variables["GitHubDeployRoleArn"],
        execution_variable=variables["CloudFormationExecutionRoleArn"],
        file=file_name(system, env),
    )


def render_workflows(targets: Iterable[tuple[str, str, str]]) -> dict[str, bytes]:
    """One workflow per (system, env, region), by path under templates/."""
    return {
        file_name(system, env): render_workflow(system, env, region).encode("utf-8")
        for system, env, region in targets
    }
