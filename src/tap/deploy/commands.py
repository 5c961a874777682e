"""The commands of `./deploy.sh`. Each reads like its steps; each step is a function
of its own module, so a test can drive one without the others.

deploy: build check -> package -> parameters -> stack state -> pre-flight -> upload ->
change set -> review -> gate -> confirm -> protect -> execute -> follow -> outputs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any, TextIO

from tap import names, paths
from tap.build import BOOTSTRAP
from tap.deploy import (
    artifacts,
    changesets,
    images,
    launch,
    parameters,
    preflight,
    protection,
    review,
    stacks,
)
from tap.deploy.artifacts import Release
from tap.deploy.aws import Aws
from tap.deploy.progress import Follower, explain_failure, is_final, succeeded
from tap.deploy.review import ParameterChange, Review
from tap.deploy.stacks import DeployedStack, Path
from tap.errors import DeployFailed, UserError

BOOTSTRAP_STACK = "tap-bootstrap"
INTERRUPTED = 130


@dataclass
class Console:
    """Where a command talks to the person running it."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    ask: Callable[[str], str] = input

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def confirm(self, question: str) -> bool:
        try:
            answer = self.ask(question)
        except EOFError:
            raise UserError("no answer to the confirmation (input is not a terminal); pass --yes to "
                            "execute without asking, or --no-execute to stop after the review") from None
        return answer.strip().lower() in ("y", "yes")


@dataclass
class Workspace:
    """The checkout a command works from, and how fast it polls AWS."""

    config_dir: FilePath = paths.CONFIG_DIR
    templates_dir: FilePath = paths.TEMPLATES_DIR
    cache_dir: FilePath = paths.CACHE_DIR
    poll_seconds: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def review_file(self, stack_name: str, change_set_name: str, suffix: str) -> FilePath:
        return self.cache_dir / "reviews" / stack_name / f"{change_set_name}{suffix}"


@dataclass
class DeployOptions:
    yes: bool = False
    no_execute: bool = False
    allow_replace: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    stack_name: str | None = None
    recreate: bool = False
    # CloudFormation acts as this service role, not as the caller (CI's deploy role).
    role_arn: str | None = None


def default_stack_name(system: str, env: str | None) -> str:
    return BOOTSTRAP_STACK if system == BOOTSTRAP else f"tap-{system}-{env}"


def target_name(system: str, env: str | None) -> str:
    """The stack as ./deploy.sh commands name it: `distribution dev`, `bootstrap`."""
    return system if env is None else f"{system} {env}"


# --- deploy and bootstrap ------------------------------------------------------------------------


def deploy(aws: Aws, console: Console, workspace: Workspace, system: str, env: str | None,
           options: DeployOptions) -> int:
    started = time.monotonic()
    stack_name = options.stack_name or default_stack_name(system, env)
    release = checked_release(aws, console, workspace, system, env, stack_name)
    stack, deployed = stack_state(aws, console, workspace, stack_name, options.recreate)
    values = resolve_parameters(aws, workspace, release, stack, options)
    values = images.with_chosen_images(aws, release.templates_by_path(), deployed, values)
    for value in values:
        console.say(f"  parameter   {value.name} ({value.source})")
    bucket, owner = artifact_bucket(aws, values) if system != BOOTSTRAP else (None, aws.account_id)
    adoptions = check_account(aws, console, release, stack_name, values, deployed, bucket, owner)
    if bucket is not None:
        upload_artifacts(aws, console, release, bucket, owner)
    tree = create_change_set(aws, console, workspace, release, stack_name, stack, values, bucket,
                             options.role_arn, import_existing=bool(adoptions))
    if tree is None:
        return 0
    change_review = review_of(aws, release, stack, deployed, values, tree, options.allow_replace)
    show_review(console, workspace, change_review)
    review.gate(change_review)
    if not confirmed(console, change_review, options):
        return 0
    return execute(aws, console, workspace, change_review, deployed, started)


def checked_release(aws: Aws, console: Console, workspace: Workspace, system: str, env: str | None,
                    stack_name: str, command: str = "deploy") -> Release:
    """The folder of templates/ to deploy, current with the sources, its zips on disk."""
    release = artifacts.prepare(system, env, workspace.config_dir, workspace.templates_dir,
                                workspace.cache_dir)
    check_region(release, aws)
    console.say(f"tap {command} {target_name(system, env)} -> stack {stack_name} in account "
                f"{aws.account_id}, {aws.region}")
    zips = sum(artifact.kind == "function" for artifact in release.artifacts)
    packaged = f"; {zips} function zips built and checked against its manifest" if zips else ""
    console.say(f"  build       {release.label} is current{packaged}")
    return release


def stack_state(aws: Aws, console: Console, workspace: Workspace, stack_name: str,
                recreate: bool) -> tuple[dict[str, Any] | None, dict[Path, DeployedStack]]:
    """The stack as it stands (None before a first deploy) and its deployed tree."""
    cfn = aws.client("cloudformation")
    stack = current_stack(cfn, stack_name, console, workspace, recreate)
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        return stack, {}
    return stack, stacks.deployed_tree(cfn, stack["StackId"])


def check_account(aws: Aws, console: Console, release: Release, stack_name: str,
                  values: list[parameters.Value], deployed: Mapping[Path, DeployedStack],
                  bucket: str | None, owner: str) -> list[preflight.Adoption]:
    """Refuse what would fail; returns the retained resources the change set imports."""
    adoptions = preflight.check(preflight.Target(
        aws=aws, stack_name=stack_name, templates=release.templates_by_path(),
        root_parameters={value.name: value.value for value in values if value.value is not None},
        deployed=deployed, bucket=bucket, bucket_owner=owner,
    ))
    console.say("  pre-flight  passed: artefact bucket, images, certificates, fixed names, OIDC provider")
    for adoption in adoptions:
        console.say(f"  adopt       {adoption.address}: {adoption.resource_type} {adoption.name} exists "
                    "outside any stack (retained by an earlier one); the change set imports it, data "
                    "and all, instead of creating it")
    return adoptions


def upload_artifacts(aws: Aws, console: Console, release: Release, bucket: str, owner: str) -> None:
    summary = artifacts.upload(aws.client("s3"), bucket, release.artifacts, owner)
    console.say(f"  upload      {len(release.artifacts)} artefacts to s3://{bucket}: "
                f"{summary.uploaded} sent ({summary.bytes_uploaded:,} bytes), {summary.skipped} already there")


def show_review(console: Console, workspace: Workspace, change_review: Review) -> None:
    console.say()
    console.say(review.table(change_review).rstrip())
    saved = save_review(workspace, change_review)
    console.say(f"\nreview saved: {_shown_path(saved)} (and .md)")


def confirmed(console: Console, change_review: Review, options: DeployOptions) -> bool:
    """Whether to execute now; a change set not executed stays for `execute`."""
    later = f"./deploy.sh execute {change_review.change_set_arn}"
    if options.no_execute:
        console.say(f"not executed (--no-execute). Execute it after approval with:\n  {later}")
        return False
    if not options.yes and not console.confirm("Execute this change set? [y/N] "):
        console.say(f"not executed; the change set stays for `{later}`")
        return False
    return True


def check_region(release: Release, aws: Aws) -> None:
    if release.region and release.region != aws.region:
        raise UserError(f"config/{release.system}/{release.env}.toml deploys to {release.region}, "
                        f"not {aws.region}; allowed: --region {release.region} (or change the config)")


def current_stack(cfn: Any, stack_name: str, console: Console, workspace: Workspace,
                  recreate: bool) -> dict[str, Any] | None:
    """The stack as it stands, after waiting out another operation on it; a failed
    first deploy is deleted when `recreate` is set."""
    def waiting(status: str) -> None:
        console.say(f"  waiting     stack {stack_name} is {status} (another operation); waiting for it "
                    "to end (Ctrl-C stops waiting)")

    stack = stacks.wait_while_busy(cfn, stack_name, waiting, workspace.poll_seconds, workspace.sleep)
    if stack is None:
        return None
    stacks.check_updatable(stack, recreate)
    if stack["StackStatus"] in stacks.FAILED_CREATE:
        console.say(f"  recreate    deleting {stack_name} ({stack['StackStatus']}) before deploying anew")
        cfn.delete_stack(StackName=stack["StackId"])
        stacks.wait_while_busy(cfn, stack["StackId"], lambda status: None, workspace.poll_seconds,
                               workspace.sleep)
        return None
    return stack


def resolve_parameters(aws: Aws, workspace: Workspace, release: Release,
                       stack: dict[str, Any] | None, options: DeployOptions) -> list[parameters.Value]:
    return parameters.for_release(
        release, workspace.config_dir, parameters.parse_overrides(list(options.parameters)),
        deployed=frozenset(stacks.parameters_of(stack)),
    )


def artifact_bucket(aws: Aws, values: list[parameters.Value]) -> tuple[str, str]:
    """The bucket the root stack reads artefacts from, and the account that must own it:
    the one the root's ArtifactBucket/ArtifactAccount parameters name, as the templates
    resolve them."""
    given = {value.name: value.value for value in values}
    owner = given.get(names.ARTIFACT_ACCOUNT_PARAMETER) or aws.account_id
    bucket = given.get(names.ARTIFACT_BUCKET_PARAMETER) or names.bootstrap_bucket_name(owner, aws.region)
    return bucket, owner


def create_change_set(
    aws: Aws, console: Console, workspace: Workspace, release: Release, stack_name: str,
    stack: dict[str, Any] | None, values: list[parameters.Value], bucket: str | None,
    role_arn: str | None = None, import_existing: bool = False,
) -> changesets.ChangeSetNode | None:
    """Create the root's change set and read its tree; None (and the change set deleted)
    when it would change nothing. With `import_existing`, CloudFormation imports the
    retained resources pre-flight found (from the root, it does so in nested stacks too)."""
    cfn = aws.client("cloudformation")
    change_set_type = "UPDATE" if stack and stack["StackStatus"] != "REVIEW_IN_PROGRESS" else "CREATE"
    root = release.root
    template = (
        {"TemplateBody": root.path.read_text(encoding="utf-8")} if bucket is None
        else {"TemplateURL": artifacts.template_url(bucket, aws.region, aws.url_suffix, root.s3_key)}
    )
    name = changesets.new_name()
    arn = changesets.create(
        cfn, stack_name=stack_name, change_set_name=name, change_set_type=change_set_type,
        template=template, parameters=[value.as_cloudformation() for value in values],
        tags=release.manifest.get("stack_tags", {}),
        rollback_configuration=protection.rollback_configuration(stack),
        description=f"tap {target_name(release.system, release.env)} root {root.sha256[:12]}",
        role_arn=role_arn, import_existing=import_existing,
    )
    console.say(f"  change set  {name} ({change_set_type}): waiting for CloudFormation to compute it")
    changesets.wait_until_created(cfn, arn, workspace.poll_seconds, workspace.sleep)
    tree = changesets.read_tree(cfn, arn)
    if tree.is_empty:
        cfn.delete_change_set(ChangeSetName=arn)
        console.say(f"no changes: stack {stack_name} already matches templates/ and the parameters; "
                    "the empty change set was deleted")
        return None
    if tree.status == "FAILED":
        raise DeployFailed(f"CloudFormation could not create change set {name}: {tree.status_reason}")
    return tree


def review_of(
    aws: Aws, release: Release, stack: dict[str, Any] | None, deployed: Mapping[Path, DeployedStack],
    values: list[parameters.Value], tree: changesets.ChangeSetNode, allowed: tuple[str, ...],
) -> Review:
    """The review of a change-set tree against the templates being deployed."""
    cfn = aws.client("cloudformation")
    new_templates = release.templates_by_path()
    rows = review.build_rows(
        tree, new_templates.get, lambda path: deployed[path].template(cfn) if path in deployed else None,
        deployed, changed_root_parameters(values, stack, new_templates[()]),
    )
    return Review(
        stack_name=tree.stack_name, change_set_arn=tree.arn,
        change_set_type="UPDATE" if deployed else "CREATE",
        account=aws.account_id, region=aws.region, rows=rows,
        parameters=parameter_changes(values, stack), allowed=tuple(allowed),
        stack_last_updated=last_updated(stacks.describe(cfn, tree.stack_id)),
        protected={"/".join(path): protection.protected_ids(template)
                   for path, template in new_templates.items()},
        target=target_name(release.system, release.env),
    )


def changed_root_parameters(values: list[parameters.Value], stack: dict[str, Any] | None,
                            root_template: dict[str, Any]) -> frozenset[str]:
    """Root parameters whose value differs from the deployed one (defaults included)."""
    old = stacks.parameters_of(stack)
    new: dict[str, str | None] = {name: str(spec["Default"]) for name, spec in root_template.get("Parameters", {}).items()
           if "Default" in spec}
    new.update({value.name: old.get(value.name) if value.value is None else value.value for value in values})
    return frozenset(name for name in set(old) | set(new) if old.get(name) != new.get(name))


def parameter_changes(values: list[parameters.Value], stack: dict[str, Any] | None) -> list[ParameterChange]:
    old = stacks.parameters_of(stack)
    return [
        ParameterChange(value.name, old.get(value.name), value.value, value.source)
        for value in values
        if value.value is not None and old.get(value.name) != value.value
    ]


def last_updated(stack: dict[str, Any] | None) -> str | None:
    if stack is None:
        return None
    return str(stack.get("LastUpdatedTime") or stack.get("CreationTime"))


def save_review(workspace: Workspace, change_review: Review) -> FilePath:
    name = change_review.change_set_arn.rsplit("/", 2)[-2]
    json_file = workspace.review_file(change_review.stack_name, name, ".json")
    json_file.parent.mkdir(parents=True, exist_ok=True)
    json_file.write_text(change_review.to_json(), encoding="utf-8")
    json_file.with_suffix(".md").write_text(review.markdown(change_review), encoding="utf-8")
    return json_file


# --- executing ------------------------------------------------------------------------------------


def execute(aws: Aws, console: Console, workspace: Workspace, change_review: Review,
            deployed: Mapping[Path, DeployedStack], started: float) -> int:
    """Execute a reviewed change set with its stack policies, follow it, print the outputs."""
    cfn = aws.client("cloudformation")
    protected = {_path(key): ids for key, ids in change_review.protected.items()}
    if change_review.change_set_type == "UPDATE":
        lifted = {*change_review.allowed, *(row.address for row in change_review.left_behind)}
        old = {path: protection.protected_ids(stack.template(cfn)) for path, stack in deployed.items()}
        protection.apply_policies(cfn, protection.policies_for_update(old, protected, lifted), deployed)
    stack_id = stacks.describe_existing(cfn, change_review.stack_name)["StackId"]
    follower = Follower(cfn, stack_id, console.out, workspace.poll_seconds, workspace.sleep,
                        expected=len(change_review.real))
    follower.start({path: stack.stack_id for path, stack in deployed.items()})
    console.say(f"\nexecuting {change_review.change_set_arn.rsplit('/', 2)[-2]} on {change_review.stack_name}")
    cfn.execute_change_set(ChangeSetName=change_review.change_set_arn)
    try:
        status = follower.follow()
    except KeyboardInterrupt:
        console.say(f"\nstopped following; CloudFormation keeps going on {change_review.stack_name}. "
                    f"Follow it with `./deploy.sh events {change_review.target} --follow`")
        return INTERRUPTED
    final = stacks.describe_existing(cfn, stack_id)
    if not is_final(status) or final["StackStatus"] not in stacks.UPDATABLE:
        raise DeployFailed(explain_failure(status, follower.root_cause(), change_review.target))
    after = stacks.deployed_tree(cfn, stack_id)
    standing = {path: protection.protected_ids(stack.template(cfn)) for path, stack in after.items()}
    protection.apply_policies(cfn, protection.standing_policies(standing), after)
    protection.protect_from_deletion(cfn, final)
    if not succeeded(status):
        raise DeployFailed(explain_failure(status, follower.root_cause(), change_review.target))
    console.say(f"\n{status} in {_duration(time.monotonic() - started)}; termination protection on, "
                f"stack policies protect {sum(map(len, standing.values()))} stateful resources")
    print_outputs(console, final)
    return 0


def _shown_path(path: FilePath) -> str:
    """A path as the person at the terminal would type it: relative to where they are."""
    try:
        return str(path.relative_to(FilePath.cwd()))
    except ValueError:
        return str(path)


def _path(key: str) -> Path:
    return tuple(key.split("/")) if key else ()


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def print_outputs(console: Console, stack: Mapping[str, Any]) -> None:
    outputs = stacks.outputs_of(stack)
    if not outputs:
        return
    width = max(map(len, outputs))
    console.say("\noutputs")
    for key, value in sorted(outputs.items()):
        console.say(f"  {key.ljust(width)}  {value}")


def execute_reviewed(aws: Aws, console: Console, workspace: Workspace, arn: str,
                     allow_replace: tuple[str, ...], review_file: FilePath | None) -> int:
    """`./deploy.sh execute <arn>`: the change set a person reviewed, if it still stands."""
    cfn = aws.client("cloudformation")
    try:
        change_set = cfn.describe_change_set(ChangeSetName=arn)
    except cfn.exceptions.ChangeSetNotFoundException:
        raise UserError(f"no change set {arn} (executed, deleted, or in another region/account)") from None
    if change_set["Status"] != "CREATE_COMPLETE" or change_set.get("ExecutionStatus") != "AVAILABLE":
        raise UserError(f"change set {change_set['ChangeSetName']} is {change_set['Status']}/"
                        f"{change_set.get('ExecutionStatus')}, not AVAILABLE: "
                        f"{change_set.get('StatusReason') or 'it can no longer be executed'}; deploy again")
    stack = stacks.describe_existing(cfn, change_set["StackId"])
    path = review_file or workspace.review_file(stack["StackName"], change_set["ChangeSetName"], ".json")
    if not path.is_file():
        raise UserError(f"no saved review of {change_set['ChangeSetName']} at {path}: create and review "
                        "it with `./deploy.sh deploy ... --no-execute` (or pass --review FILE)")
    saved = Review.from_json(path.read_text(encoding="utf-8"))
    if saved.change_set_arn != change_set["ChangeSetId"]:
        raise UserError(f"{path} reviews {saved.change_set_arn}, not {change_set['ChangeSetId']}")
    if saved.stack_last_updated != last_updated(stack):
        raise UserError(f"stack {stack['StackName']} changed since the review (updated "
                        f"{last_updated(stack)}, reviewed at {saved.stack_last_updated}); deploy again "
                        "to review the change set against what is deployed now")
    saved.allowed = tuple(sorted({*saved.allowed, *allow_replace}))
    review.gate(saved)
    deployed = stacks.deployed_tree(cfn, stack["StackId"]) if saved.change_set_type == "UPDATE" else {}
    return execute(aws, console, workspace, saved, deployed, time.monotonic())


# --- console links ---------------------------------------------------------------------------------


def urls(aws: Aws, console: Console, workspace: Workspace, system: str, env: str | None,
         options: DeployOptions) -> int:
    """`./deploy.sh urls`: upload what a deploy would (the console cannot read what is not
    in S3), then print the root template's S3 URL, the console's quick-create link with
    every parameter value a deploy would pass, and where its change sets are reviewed."""
    stack_name = options.stack_name or default_stack_name(system, env)
    launch.check_stack_name(stack_name)
    release = checked_release(aws, console, workspace, system, env, stack_name, command="urls")
    stack = stacks.describe(aws.client("cloudformation"), stack_name)
    values = resolve_parameters(aws, workspace, release, stack, options)
    for value in values:
        console.say(f"  parameter   {value.name} ({value.source})")
    bucket, owner = artifact_bucket(aws, values)
    problems = list(preflight.bucket_problems(preflight.Target(
        aws=aws, stack_name=stack_name, templates={}, root_parameters={}, bucket=bucket, bucket_owner=owner)))
    if problems and system == BOOTSTRAP:
        show_first_bootstrap(console, aws, release, bucket)
        return 0
    if problems:
        raise UserError(problems[0])
    upload_artifacts(aws, console, release, bucket, owner)
    link = launch.quick_create_link(
        region=aws.region, partition=aws.partition, stack_name=stack_name,
        template_url=artifacts.template_url(bucket, aws.region, aws.url_suffix, release.root.s3_key),
        declared=release.template(release.manifest["root"]).get("Parameters", {}),
        values=values, deployed=stacks.parameters_of(stack),
    )
    show_link(console, aws, link, launch.required_capabilities(release.templates_by_path().values()))
    if stack is not None and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
        show_update(console, aws, stack, values)
    else:
        console.say(f"  change set  after \"Create change set\" the console opens it; later, from the stacks "
                    f"list ({launch.stacks_page(aws.region, stack_name, aws.partition)}), the stack's Change sets tab")
    console.say("  guide       docs/console.md")
    return 0


def show_link(console: Console, aws: Aws, link: launch.Link, capabilities: tuple[str, ...]) -> None:
    filled = f", {', '.join(link.filled)} filled in" if link.filled else ", every parameter at its default"
    console.say(f"\n  template    {link.template_url}")
    console.say(f"  launch      {link.url}")
    console.say(f"              ({len(link.url):,} characters) the console's create page in {link.region}: "
                f"stack {link.stack_name}{filled}")
    console.say(f"              tick {' and '.join(capabilities) or 'no capability'}, then choose \"Create "
                "change set\" to review before anything is created")
    for left in link.left_out:
        console.say(f"  fill in     {left.name}: {left.reason}")


def show_update(console: Console, aws: Aws, stack: dict[str, Any], values: list[parameters.Value]) -> None:
    """A stack that exists is updated from the template's S3 URL, not from the launch link."""
    console.say(f"  update      {stack['StackName']} exists ({stack['StackStatus']}): the link would create "
                "another stack of that name and fail; update this one with a change set:")
    console.say(f"              {launch.stack_page(aws.region, stack['StackId'], aws.partition)}")
    console.say("              Stack actions > Create change set for current stack > Replace current "
                "template > Amazon S3 URL: the template above")
    for change in parameter_changes(values, stack):
        console.say(f"              on \"Specify stack details\" set {change.name} (from {change.source})")
    console.say("  change set  once created it opens, and stays listed under the stack's Change sets tab")


def show_first_bootstrap(console: Console, aws: Aws, release: Release, bucket: str) -> None:
    """The console launches only templates in S3, and the bucket for them is what the
    bootstrap stack creates: its first deploy comes from the CLI or a file upload."""
    template = release.folder / release.manifest["root"]
    console.say(f"\nno link yet: a console link needs the template in S3, and this account's bucket for "
                f"it ({bucket}) is what the bootstrap stack creates. Either:")
    console.say(f"  ./deploy.sh bootstrap --region {aws.region}")
    console.say(f"or, in the console ({launch.console_home(aws.region, aws.partition)}): Create stack > With "
                f"new resources > Upload a template file: {_shown_path(template)}, stack name "
                f"{BOOTSTRAP_STACK}, tick {' and '.join(launch.required_capabilities([release.template(template.name)]))}"
                " (the console keeps the file in a bucket of its own)."
                "\nAfterwards `./deploy.sh urls bootstrap` prints the link for updates.")
