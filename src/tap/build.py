"""`python build.py`: emit every template into templates/, lint it, or check it is current;
`python build.py diff`: what a fresh build changes against the committed templates;
`python build.py graph`: each system's architecture diagram, drawn from its templates.

Exit codes: 0 success; 1 the build is not acceptable (stale templates with
--check, lint findings, a quota crossed); 2 bad input (unknown system or
environment, a config mistake), reported in one message without traceback;
3 (`diff --fail-on-replace`) a stateful resource would be replaced or deleted.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tap import config, paths
from tap.ci import render_workflows
from tap.config.schema import Invalid
from tap.emit import Emission, emit_tree, orphan_files, stale_files, write
from tap.errors import BuildError, UserError
from tap.package import FunctionPackager
from tap.stackmaker import StackMaker
from tap.systems import Tools
from tap.systems import builder as system_builder

if TYPE_CHECKING:
    from tap.lint import Finding, Linter, Progress

BOOTSTRAP = "bootstrap"
STACKS_DOCUMENT = "docs/stacks.md"


@dataclass
class Target:
    """One folder of templates/: a system in one environment, or the bootstrap stack."""

    system: str
    env: str | None
    built: Emission | None = None
    region: str = "us-east-1"
    findings: list[Finding] = field(default_factory=list)
    linted: bool = False
    seconds: float = 0.0

    @property
    def folder(self) -> str:
        return self.system if self.env is None else f"{self.system}/{self.env}"

    @property
    def emission(self) -> Emission:
        """What `build_target` emitted."""
        if self.built is None:
            raise RuntimeError(f"{self.folder} has not been built")
        return self.built


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python build.py",
        description="Emit, lint and check the CloudFormation templates of every system "
        "and environment (config/<system>/<env>.toml -> templates/<system>/<env>/).",
    )
    parser.add_argument(
        "--system", help=f"only this system: {', '.join((BOOTSTRAP,) + config.SYSTEMS)}"
    )
    parser.add_argument("--env", help="only this environment (a file name in config/<system>/)")
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 listing every file in templates/ that differs from a fresh build",
    )
    parser.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    return parser.parse_args(argv)


def select_targets(system: str | None, env: str | None, config_dir: Path) -> list[Target]:
    if system is not None and system != BOOTSTRAP:
        config.check_system(system)
    if system == BOOTSTRAP and env is not None:
        raise UserError("the bootstrap stack has no environments; drop --env")
    systems = [system] if system else [BOOTSTRAP, *config.SYSTEMS]
    targets = []
    for name in systems:
        if name == BOOTSTRAP:
            targets.append(Target(BOOTSTRAP, None))
            continue
        known = config.environments(name, config_dir)
        if env is not None:
            config.config_file(name, env, config_dir)  # unknown environment: clear error
        targets.extend(Target(name, each) for each in known if env in (None, each))
    return targets


def build_target(target: Target, tools: Tools, config_dir: Path) -> None:
    files: Mapping[str, bytes] = {}
    if target.env is None:  # the bootstrap stack: one per account and region, no config
        # Imported when built, like cfn-lint (see lint_targets).
        from tap.systems import bootstrap

        root, description = bootstrap.build(), {"system": BOOTSTRAP}
    else:
        settings = config.load(target.system, target.env, config_dir)
        target.region = settings.region
        try:
            built = system_builder(target.system)(settings, tools)
        except Invalid as err:  # names that clash only once the system composes them
            raise config.located(err, target.system, target.env, config_dir) from None
        root, files = built.root, built.files
        description = {"system": target.system, "environment": target.env, "region": settings.region}
    target.built = emit_tree(root, target.folder, description, files)
    tools.stacks.keep()


def lint_targets(
    targets: list[Target], templates_dir: Path, progress: Progress | None = None,
    linters: dict[str, Linter] | None = None,
) -> None:
    """Lint every template of `targets` in one batch per region: the uncached ones of all
    folders share one pool of workers."""
    # Imported when linting: a build of one folder without lint (the quick loop of
    # someone editing a system) does without these and the bootstrap's ~40 ms of imports.
    from tap.lint import Linter

    linters = {} if linters is None else linters
    for region in sorted({target.region for target in targets}):
        chosen = [target for target in targets if target.region == region]
        batch = [
            (f"{templates_dir.name}/{target.folder}/{info.file_name}", info.stack.body, info.stack.sha256)
            for target in chosen for info in target.emission.templates
        ]
        findings = iter(linters.setdefault(region, Linter(region)).lint_many(batch, progress))
        for target in chosen:
            for _ in target.emission.templates:
                target.findings.extend(next(findings))
            target.linted = True


def terminal_progress(what: str) -> Progress | None:
    """Shows `what done/total` on one line of a terminal; nothing in a CI log."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r  {what} {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def summary(targets: list[Target]) -> str:
    header = ("system", "env", "templates", "resources", "bytes", "lint", "seconds")  # seconds: emit
    rows = [header]
    for target in targets:
        emission = target.emission
        lint = (
            "skipped" if not target.linted
            else "clean" if not target.findings
            else f"{len(target.findings)} findings"
        )
        rows.append((
            target.system, target.env or "-", str(len(emission.templates)),
            str(emission.resource_count), f"{emission.byte_count:,}", lint, f"{target.seconds:.2f}",
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    )


def run(args: argparse.Namespace, config_dir: Path, templates_dir: Path) -> int:
    started = time.perf_counter()
    if templates_dir.exists() and not templates_dir.is_dir():
        raise UserError(f"{templates_dir.name} is a file; allowed: a folder the build writes templates into")
    targets = select_targets(args.system, args.env, config_dir)
    tools = Tools(FunctionPackager(), StackMaker.default())
    emitting = terminal_progress("emitted")
    for number, target in enumerate(targets, start=1):
        began = time.perf_counter()
        build_target(target, tools, config_dir)
        target.seconds = time.perf_counter() - began
        if emitting is not None:
            emitting(number, len(targets))
    lint_seconds = 0.0
    if not args.no_lint:
        began = time.perf_counter()
        lint_targets(targets, templates_dir, terminal_progress("linted uncached templates"))
        lint_seconds = time.perf_counter() - began
    emissions = [target.emission for target in targets]
    workflows = ci_workflows(targets, templates_dir)

    everything = args.system is None and args.env is None
    repo = templates_dir.parent
    status = 0
    if args.check:
        stale = stale_files(emissions, templates_dir) + stale_workflows(workflows, repo)
        if everything:
            stale += [
                f"{path.relative_to(repo)} (not produced by the build)"
                for path in orphan_files(emissions, templates_dir) if path not in workflows
            ]
            stale += [f"{name} (differs)" for name, text in generated_documents(emissions).items()
                      if not (repo / name).is_file() or (repo / name).read_text() != text]
        if stale:
            print("templates/ is stale; run `python build.py` and commit the result:", file=sys.stderr)
            for line in stale:
                print(f"  {line}", file=sys.stderr)
            status = 1
    else:
        for emission in emissions:
            write(emission, templates_dir)
        write_workflows(workflows)
        if everything:
            for path in orphan_files(emissions, templates_dir):
                if path not in workflows:
                    path.unlink()
            write_documents(repo, generated_documents(emissions))

    findings = [finding for target in targets for finding in target.findings]
    if findings:
        print(f"cfn-lint found {len(findings)} problems:", file=sys.stderr)
        for finding in findings:
            print(f"  {finding}", file=sys.stderr)
        status = 1

    print(summary(targets))
    lint = "" if args.no_lint else f" (lint {lint_seconds:.2f}s)"
    print(f"{'checked' if args.check else 'built'} {len(targets)} folders in "
          f"{time.perf_counter() - started:.2f}s{lint}")
    return status


def ci_workflows(targets: list[Target], templates_dir: Path) -> dict[Path, bytes]:
    """The CI workflow of each system and environment built (templates/ci/), by path."""
    rendered = render_workflows(
        (target.system, target.env, target.region) for target in targets if target.env is not None)
    return {templates_dir / name: data for name, data in rendered.items()}


def stale_workflows(workflows: dict[Path, bytes], repo: Path) -> list[str]:
    return [f"{path.relative_to(repo)} ({'differs' if path.is_file() else 'missing'})"
            for path, data in sorted(workflows.items())
            if not path.is_file() or path.read_bytes() != data]


def write_workflows(workflows: dict[Path, bytes]) -> None:
    for path, data in workflows.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def generated_documents(emissions: list[Emission]) -> dict[str, str]:
    """The docs the build draws from its own stack trees, by path under the repository:
    the stack-tree diagram, each system's architecture diagram, the console guide
    (with every root parameter) and the security page (rules and suppressions)."""
    # Imported when drawn: a build of one folder does without their ~40 ms of imports.
    from tap import architecture, console_guide, graph, security_doc

    return {STACKS_DOCUMENT: graph.document(emissions), **architecture.documents(emissions),
            console_guide.CONSOLE_DOCUMENT: console_guide.document(emissions),
            security_doc.SECURITY_DOCUMENT: security_doc.document(emissions)}


def write_documents(repo: Path, documents: dict[str, str]) -> list[Path]:
    written = []
    for name, text in documents.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def parse_graph_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python build.py graph",
        description="Draw each system's architecture (its main resources, grouped by nested stack, "
        "and how requests and data flow between them) from the emitted templates into "
        "docs/architecture/<system>.md as Mermaid; `python build.py --check` keeps them current.",
    )
    parser.add_argument("--png", action="store_true",
                        help="also render each diagram to docs/architecture/<system>.png (needs the "
                        "Mermaid CLI from npm and a Chromium)")
    return parser.parse_args(argv)


def run_graph(args: argparse.Namespace, config_dir: Path, templates_dir: Path) -> int:
    from tap import architecture  # see generated_documents

    tools = Tools(FunctionPackager(), StackMaker.default())
    targets = [target for target in select_targets(None, None, config_dir) if target.env is not None]
    for target in targets:
        build_target(target, tools, config_dir)
    repo = templates_dir.parent
    for path in write_documents(repo, architecture.documents([t.emission for t in targets])):
        print(f"wrote {path.relative_to(repo)}")
        if args.png:
            architecture.render_png(path, path.with_suffix(".png"))
            print(f"wrote {path.with_suffix('.png').relative_to(repo)}")
    return 0


REPLACES_STATEFUL = 3  # diff --fail-on-replace: a stateful resource would be lost


def parse_diff_args(argv: list[str]) -> argparse.Namespace:
    from tap import diff  # imported when asked, like the documents' modules

    parser = argparse.ArgumentParser(
        prog="python build.py diff",
        description="Compare a fresh build with the templates committed at a git ref: per stack and "
        "resource, what is added, removed or modified, with the property paths that change and "
        "whether the change replaces the resource (predicted offline from CloudFormation's resource "
        "schemas).",
        epilog="exit codes: 0 done, 2 bad input, 3 with --fail-on-replace: a stateful resource would be "
        "replaced or deleted",
    )
    parser.add_argument("--against", default="HEAD", metavar="REF",
                        help="git ref whose templates/ to compare with (default HEAD: the committed ones)")
    parser.add_argument("--system", help=f"only this system: {', '.join((BOOTSTRAP,) + config.SYSTEMS)}")
    parser.add_argument("--env", help="only this environment")
    parser.add_argument("--format", choices=sorted(diff.FORMATS), default="table",
                        help="table (default), json for bots, markdown for pull-request comments")
    parser.add_argument("--fail-on-replace", action="store_true",
                        help="exit 3 if a stateful resource would be replaced or deleted")
    return parser.parse_args(argv)


def run_diff(args: argparse.Namespace, config_dir: Path, templates_dir: Path) -> int:
    from tap import diff  # see parse_diff_args

    committed = diff.GitTemplates(templates_dir.parent, args.against, templates_dir.name)
    tools = Tools(FunctionPackager(), StackMaker.default())
    diffs = []
    for target in select_targets(args.system, args.env, config_dir):
        build_target(target, tools, config_dir)
        diffs.append(diff.diff_folder(
            target.folder, committed.folder(target.folder), diff.templates_of(target.emission),
            diff.changed_parameters(committed.configured(target.folder), diff.configured_of(target.emission)),
        ))
    print(diff.FORMATS[args.format](diffs), end="")
    if args.fail_on_replace and any(folder.lost for folder in diffs):
        return REPLACES_STATEFUL
    return 0


def main(
    argv: list[str] | None = None,
    config_dir: Path = paths.CONFIG_DIR,
    templates_dir: Path = paths.TEMPLATES_DIR,
) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["diff"]:
            return run_diff(parse_diff_args(argv[1:]), config_dir, templates_dir)
        if argv[:1] == ["graph"]:
            return run_graph(parse_graph_args(argv[1:]), config_dir, templates_dir)
        return run(parse_args(argv), config_dir, templates_dir)
    except (UserError, BuildError) as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
