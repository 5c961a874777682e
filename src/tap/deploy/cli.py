"""`./deploy.sh` (`python -m tap.deploy`): parse the command line, open one AWS session
(or an emulator), run the command, and turn every failure into one message and an
exit code.

Exit codes: 0 done or nothing to do; 1 the deploy failed (CloudFormation rolled back);
2 bad input or a pre-flight refusal; 3 the review gate refused (a stateful resource
would be lost); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Any

from tap import config
from tap.build import BOOTSTRAP
from tap.deploy import aws as aws_module
from tap.deploy import commands, inspection, stackset_targets, stacksets, teardown
from tap.deploy.aws import Aws
from tap.deploy.commands import Console, DeployOptions, Workspace
from tap.errors import BuildError, DeployFailed, GateRefused, UserError

EPILOG = """exit codes: 0 done or nothing to do, 1 deploy failed, 2 bad input or pre-flight
refusal, 3 the review gate refused (a stateful resource would be lost), 130 interrupted"""
AWS_POLL_SECONDS = 3.0
EMULATOR_POLL_SECONDS = 0.1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./deploy.sh", epilog=EPILOG,
        description="Upload, review and deploy the templates in templates/ through CloudFormation "
        "change sets.",
    )
    _add_connection(parser, suppress=False)
    commands_parser = parser.add_subparsers(dest="command", required=True, metavar="command")

    bootstrap = _command(commands_parser, "bootstrap", "create or update this account and region's "
                         "bootstrap stack (artefact bucket, StackSet roles)")
    _add_change_options(bootstrap)

    deploy = _command(commands_parser, "deploy", "check, upload, review and deploy a system")
    _add_target(deploy, bootstrap=False)
    _add_change_options(deploy)
    deploy.add_argument("--recreate", action="store_true",
                        help="delete a stack whose first deploy failed (ROLLBACK_COMPLETE) and deploy anew")

    execute = _command(commands_parser, "execute", "execute a change set reviewed with --no-execute")
    execute.add_argument("change_set_arn", metavar="change-set-arn")
    execute.add_argument("--allow-replace", action="append", default=[], metavar="STACK-PATH/LOGICAL-ID",
                         help="also allow losing this stateful resource (repeatable)")
    execute.add_argument("--review", metavar="FILE", help="the saved review (default: .cache/reviews/...)")

    for name, text in (("status", "status of the stack and its nested stacks"),
                       ("outputs", "outputs of the root stack"),
                       ("destroy", "delete the stack after you type its name; lists what stays")):
        _add_target(_command(commands_parser, name, text))
    events = _command(commands_parser, "events", "recent events of the stack and its nested stacks")
    _add_target(events)
    events.add_argument("--limit", type=int, default=40, help="how many events (default 40)")
    events.add_argument("--follow", action="store_true", help="then follow a running operation to its end")

    urls = _command(commands_parser, "urls", "upload the templates, then print the root's console "
                    "launch link (quick-create) with every parameter filled in")
    _add_target(urls)
    urls.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                      help="a root parameter (repeatable); KEY=file://PATH reads a file")

    _add_stackset_commands(commands_parser)

    server = commands_parser.add_parser(
        "local-server", help="run the AWS emulator in the foreground, for --endpoint-url")
    server.add_argument("--port", type=int, default=4599, help="port on 127.0.0.1 (default 4599)")
    return parser.parse_args(argv)


def _add_stackset_commands(commands_parser: Any) -> None:
    stackset = _command(commands_parser, "stackset", "create or update a StackSet of a system (or the "
                        "bootstrap) and its instances across accounts and regions")
    _add_stackset_target(stackset)
    stackset.add_argument("--max-concurrent", metavar="N|N%", help="instances at once per region (default 1)")
    stackset.add_argument("--failure-tolerance", metavar="N|N%",
                          help="failed instances per region before the operation stops (default 0)")
    stackset.add_argument("--region-order", metavar="R1,R2", help="the order of the regions (default: --regions)")
    stackset.add_argument("--overrides", metavar="FILE", help='per-account parameters: {"<account>": '
                          '[{"ParameterKey": ..., "ParameterValue": ...}]}')
    stackset.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                          help="a root parameter for every instance (repeatable); KEY=file://PATH reads a file")
    stackset.add_argument("--yes", action="store_true", help="start without asking (CI)")

    remove = _command(commands_parser, "stackset-remove", "remove instances of a StackSet (the StackSet "
                      "too once it has none)")
    _add_stackset_target(remove)
    remove.add_argument("--retain-stacks", action="store_true",
                        help="keep each instance's stack in its account; only the StackSet lets go of it")
    remove.add_argument("--max-concurrent", metavar="N|N%", help="instances at once per region (default 1)")
    remove.add_argument("--failure-tolerance", metavar="N|N%", help="failures per region before stopping")
    remove.add_argument("--yes", action="store_true", help="remove without asking for the name")

    status = _command(commands_parser, "stackset-status", "a StackSet's instances (status and reason) "
                      "and its latest operations")
    _add_target(status)
    status.add_argument("--name", help="StackSet name (default tap-<system>-<env>, tap-bootstrap)")


def _add_stackset_target(parser: argparse.ArgumentParser) -> None:
    _add_target(parser)
    parser.add_argument("--accounts", metavar="A,B", help="target accounts (self-managed permissions)")
    parser.add_argument("--org-units", metavar="OU,OU", help="target OUs (service-managed permissions)")
    parser.add_argument("--regions", metavar="R1,R2", help="target regions")
    parser.add_argument("--name", help="StackSet name (default tap-<system>-<env>, tap-bootstrap)")


def _command(commands_parser: Any, name: str, text: str) -> argparse.ArgumentParser:
    command = commands_parser.add_parser(name, help=text, description=text, epilog=EPILOG)
    _add_connection(command, suppress=True)
    return command


def _add_connection(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Connection options, accepted before or after the command."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--region", default=default, help="AWS region (default: the config's region)")
    parser.add_argument("--profile", default=default, help="AWS profile of the credentials")
    parser.add_argument("--local", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="use an AWS emulator started for this command (bootstrapped, empty)")
    parser.add_argument("--endpoint-url", default=default, metavar="URL",
                        help="use the AWS emulator at URL (see local-server)")


def _add_target(parser: argparse.ArgumentParser, bootstrap: bool = True) -> None:
    systems = ", ".join((*config.SYSTEMS, BOOTSTRAP) if bootstrap else config.SYSTEMS)
    parser.add_argument("system", help=f"one of: {systems}")
    parser.add_argument("env", nargs="?", help="an environment: a file name in config/<system>/"
                        + (" (none for bootstrap)" if bootstrap else ""))
    parser.add_argument("--stack-name", help="stack name (default tap-<system>-<env>, tap-bootstrap)")


def _add_change_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="execute without asking (CI)")
    parser.add_argument("--no-execute", action="store_true",
                        help="stop after the review; save it and print the change set's ARN")
    parser.add_argument("--allow-replace", action="append", default=[], metavar="STACK-PATH/LOGICAL-ID",
                        help="allow replacing or deleting this stateful resource (repeatable)")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="a root parameter (repeatable); KEY=file://PATH reads a file")
    parser.add_argument("--role-arn", metavar="ARN", help="a CloudFormation service role to act as "
                        "(the bootstrap's CloudFormationExecutionRoleArn, for CI)")
    if "--stack-name" not in parser._option_string_actions:
        parser.add_argument("--stack-name", help="stack name (default tap-bootstrap)")


def main(argv: list[str] | None = None, console: Console | None = None,
         workspace: Workspace | None = None) -> int:
    args = parse_args(argv)
    console = console or Console()
    workspace = workspace or Workspace()
    try:
        if args.command == "local-server":
            from tap.deploy import emulator

            emulator.serve(args.port)
            return 0
        with session(args, console, workspace) as aws:
            return run(args, aws, console, workspace)
    except (UserError, BuildError, DeployFailed, GateRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return commands.INTERRUPTED
    except Exception as error:
        known = aws_module.error_message(error)
        if known is None:
            raise
        print(f"error: {known[0]}", file=sys.stderr)
        return known[1]


def region_of(args: argparse.Namespace) -> str | None:
    """--region, or the region a change set's ARN or the system's config names."""
    if args.region:
        return args.region
    if args.command == "execute":
        parts = args.change_set_arn.split(":")
        if len(parts) < 6 or parts[2] != "cloudformation":
            raise UserError(f"{args.change_set_arn!r} is not a change set ARN "
                            "(arn:aws:cloudformation:<region>:<account>:changeSet/<name>/<id>)")
        return parts[3]
    if getattr(args, "system", BOOTSTRAP) != BOOTSTRAP:
        return config.load(args.system, args.env).region
    return None


def check_target(args: argparse.Namespace) -> None:
    """An unknown system or environment is refused before anything reaches AWS."""
    if not hasattr(args, "system"):
        return
    if args.system == BOOTSTRAP:
        if args.command == "deploy":
            raise UserError("the bootstrap stack is deployed with `./deploy.sh bootstrap`")
        if args.env is not None:
            raise UserError(f"the bootstrap stack has no environments; drop {args.env!r}")
        return
    if args.system not in config.SYSTEMS:
        allowed = config.SYSTEMS if args.command == "deploy" else (*config.SYSTEMS, BOOTSTRAP)
        raise UserError(f"unknown system {args.system!r}; allowed: {', '.join(allowed)}")
    if args.env is None:
        choices = ", ".join(config.environments(args.system))
        raise UserError(f"{args.command} {args.system} needs an environment; allowed: {choices}")
    config.config_file(args.system, args.env)


@contextlib.contextmanager
def session(args: argparse.Namespace, console: Console, workspace: Workspace) -> Iterator[Aws]:
    check_target(args)
    if args.command in ("stackset", "stackset-remove"):
        stackset_options(args)  # bad targets are refused before anything reaches AWS
    region = region_of(args)
    if not args.local:
        if args.endpoint_url:
            workspace.poll_seconds = EMULATOR_POLL_SECONDS
        else:
            workspace.poll_seconds = AWS_POLL_SECONDS
        yield aws_module.connect(region, args.profile, args.endpoint_url)
        return
    if args.endpoint_url or args.profile:
        raise UserError("--local starts its own emulator; drop --endpoint-url and --profile")
    from tap.deploy import emulator

    workspace.poll_seconds = EMULATOR_POLL_SECONDS
    with emulator.Emulator() as running:
        aws = aws_module.connect(region, endpoint_url=running.url)
        console.say(f"local emulator at {running.url}: account {aws.account_id}, {aws.region}; "
                    "it ends with this command")
        if args.command.startswith("stackset"):
            if args.command != "stackset-status":
                prepare_local_stackset(aws, console, workspace, running.url, stackset_options(args))
        elif args.command != "bootstrap":
            bootstrap_quietly(aws, console, workspace)
        yield aws


def bootstrap_quietly(aws: Aws, console: Console, workspace: Workspace, *parameters: str) -> None:
    """A fresh emulated account needs its bootstrap stack before anything else deploys."""
    captured = io.StringIO()
    quiet = Console(out=captured, ask=console.ask)
    try:
        commands.deploy(aws, quiet, workspace, BOOTSTRAP, None, DeployOptions(yes=True, parameters=parameters))
    except Exception:
        console.say(captured.getvalue())
        raise
    console.say(f"local emulator: {commands.BOOTSTRAP_STACK} deployed in account {aws.account_id}, "
                f"{aws.region} (artefact bucket tap-assets-{aws.account_id}-{aws.region})"
                + (f" with {', '.join(parameters)}" if parameters else ""))


def prepare_local_stackset(aws: Aws, console: Console, workspace: Workspace, url: str,
                           options: stackset_targets.StackSetOptions) -> None:
    """An emulated organisation holding the target accounts, bootstrapped the way the
    docs tell a real one to be: the administrator with the administration role and a
    bucket the organisation reads in every target region, each target with the
    execution role (IAM is global: one region's bootstrap creates it)."""
    from tap.deploy import emulated_stacksets, emulator

    if options.targets.org_units:
        raise UserError("--local makes an organisation of the --accounts given; its OU ids are not "
                        "known in advance, so use --accounts with --local")
    organization, _ = emulated_stacksets.add_organization(aws.account_id, {"tap-targets": list(
        options.targets.accounts)})
    console.say(f"local emulator: organisation {organization} with accounts "
                f"{', '.join(options.targets.accounts)}")
    regions = dict.fromkeys((aws.region, *options.targets.regions))  # home first: the set's template
    for index, region in enumerate(regions):
        regional = emulator.connect_as(url, region, aws.account_id)
        bootstrap_quietly(regional, console, workspace, f"ReaderOrganizationId={organization}",
                          f"CreateAdministrationRole={'true' if index == 0 else 'false'}")
    for account in options.targets.accounts:
        if account != aws.account_id:
            bootstrap_quietly(emulator.connect_as(url, options.targets.regions[0], account), console,
                              workspace, f"AdministratorAccountId={aws.account_id}")


def run(args: argparse.Namespace, aws: Aws, console: Console, workspace: Workspace) -> int:
    if args.command in ("bootstrap", "deploy"):
        system, env = (BOOTSTRAP, None) if args.command == "bootstrap" else (args.system, args.env)
        options = DeployOptions(
            yes=args.yes, no_execute=args.no_execute, allow_replace=tuple(args.allow_replace),
            parameters=tuple(args.parameter), stack_name=args.stack_name,
            recreate=getattr(args, "recreate", False), role_arn=args.role_arn,
        )
        return commands.deploy(aws, console, workspace, system, env, options)
    if args.command == "execute":
        from pathlib import Path

        review_file = Path(args.review) if args.review else None
        return commands.execute_reviewed(aws, console, workspace, args.change_set_arn,
                                         tuple(args.allow_replace), review_file)
    if args.command == "urls":
        options = DeployOptions(parameters=tuple(args.parameter), stack_name=args.stack_name)
        return commands.urls(aws, console, workspace, args.system, args.env, options)
    if args.command.startswith("stackset"):
        return run_stackset(args, aws, console, workspace)
    stack_name = args.stack_name or commands.default_stack_name(args.system, args.env)
    target = commands.target_name(args.system, args.env)
    if args.command == "status":
        return inspection.status(aws, console, stack_name)
    if args.command == "outputs":
        return inspection.outputs(aws, console, stack_name)
    if args.command == "events":
        return inspection.events(aws, console, workspace, stack_name, args.limit, args.follow)
    return teardown.destroy(aws, console, workspace, stack_name, target)


def stackset_options(args: argparse.Namespace) -> stackset_targets.StackSetOptions:
    from pathlib import Path

    targets = stackset_targets.targets_of(args.accounts, args.org_units, args.regions)
    return stackset_targets.StackSetOptions(
        targets=targets, name=args.name, max_concurrent=args.max_concurrent,
        failure_tolerance=args.failure_tolerance,
        region_order=stackset_targets.parse_list(getattr(args, "region_order", None), stackset_targets.REGION,
                                          "--region-order", "a region name"),
        overrides_file=Path(args.overrides) if getattr(args, "overrides", None) else None,
        parameters=tuple(getattr(args, "parameter", ())), retain_stacks=getattr(args, "retain_stacks", False),
        yes=args.yes,
    )


def run_stackset(args: argparse.Namespace, aws: Aws, console: Console, workspace: Workspace) -> int:
    if args.command == "stackset-status":
        return stacksets.status(aws, console, args.system, args.env, args.name)
    options = stackset_options(args)
    if args.command == "stackset":
        return stacksets.deploy(aws, console, workspace, args.system, args.env, options)
    return stacksets.remove(aws, console, workspace, args.system, args.env, options)
