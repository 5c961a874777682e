"""Render a stack tree into the files of one `templates/<system>/<env>/` folder.

The folder holds one file per template, any extra text artefacts the system
renders (workflows), and `manifest.json`: every template with its role,
sha256, size and quota usage, every artefact a deploy must upload under
which key, and `parameters`: the config's values of the root parameters that
differ per account (a certificate ARN), kept out of the templates. Output is
a pure function of the tree, so two builds are byte-identical; `stale_files`
compares a fresh build with what is on disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap import canonical, names
from tap.errors import BuildError
from tap.quotas import Usage
from tap.stacktree import Stack


@dataclass(frozen=True)
class TemplateInfo:
    stack: Stack
    usage: Usage

    @property
    def file_name(self) -> str:
        return self.stack.file_name


@dataclass
class Emission:
    """Everything one build writes into `templates/<folder>/`."""

    folder: str
    root: Stack
    templates: list[TemplateInfo]
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def resource_count(self) -> int:
        return sum(info.usage.resources for info in self.templates)

    @property
    def byte_count(self) -> int:
        return sum(info.usage.bytes for info in self.templates)


def emit_tree(
    root: Stack,
    folder: str,
    description: Mapping[str, Any],
    extra_files: Mapping[str, bytes] | None = None,
) -> Emission:
    """Render every template of `root`'s tree, check quotas, and write the manifest.

    `description` goes into the manifest as is (system, environment, region).
    """
    templates = []
    for stack in root.walk():
        usage = Usage.of(stack.outline(), len(stack.body))
        breaches = usage.breaches()
        if breaches:
            raise BuildError(
                f"templates/{folder}/{stack.file_name} crosses CloudFormation quotas: "
                + "; ".join(breaches)
            )
        templates.append(TemplateInfo(stack, usage))
    emission = Emission(folder=folder, root=root, templates=templates)
    for info in templates:
        emission.files[info.file_name] = info.stack.body
    for name, data in sorted((extra_files or {}).items()):
        emission.files[name] = data
    emission.files[names.MANIFEST_FILE] = canonical.dumps(manifest(emission, description))
    return emission


def manifest(emission: Emission, description: Mapping[str, Any]) -> dict[str, Any]:
    templates = []
    artifacts = []
    for info in emission.templates:
        stack = info.stack
        parent = stack.parent
        templates.append(
            {
                "file": stack.file_name,
                "stack": stack.name,
                "role": "root" if parent is None else "nested",
                "parent": parent.file_name if parent else None,
                "logical_id": _logical_id_in_parent(stack),
                "sha256": stack.sha256,
                "bytes": info.usage.bytes,
                "resources": info.usage.resources,
                "parameters": info.usage.parameters,
                "outputs": info.usage.outputs,
                "s3_key": stack.s3_key,
            }
        )
        artifacts.append(
            {"kind": "template", "file": stack.file_name, "s3_key": stack.s3_key,
             "sha256": stack.sha256, "bytes": info.usage.bytes}
        )
        for asset in stack.assets:
            artifacts.append(
                {"kind": asset.kind, "source": f"functions/{asset.name}", "s3_key": asset.s3_key,
                 "sha256": asset.sha256, "bytes": len(asset.data), "used_by": stack.file_name}
            )
    return {
        **description,
        "root": emission.root.file_name,
        "root_parameters": _root_parameters(emission.root),
        # The config's values of the root's configured parameters (per-account ARNs),
        # which the templates take as parameters; ./deploy.sh passes them.
        "parameters": dict(sorted(emission.root.configured.items())),
        "stack_tags": dict(emission.root.tags),
        "templates": templates,
        "artifacts": _unique_by_key(artifacts),
    }


def template_paths(manifest: Mapping[str, Any]) -> dict[tuple[str, ...], str]:
    """Each template file of a manifest by its path of nested-stack logical ids from the
    root (the root's path is empty): how the deploy tool and `diff` address stacks."""
    by_file = {entry["file"]: entry for entry in manifest["templates"]}

    def path_of(entry: Mapping[str, Any]) -> tuple[str, ...]:
        if entry["parent"] is None:
            return ()
        return (*path_of(by_file[entry["parent"]]), entry["logical_id"])

    return {path_of(entry): entry["file"] for entry in manifest["templates"]}


def _root_parameters(root: Stack) -> list[dict[str, Any]]:
    """What a deploy may (default given) or must (no default) pass to the root stack."""
    return [
        {
            "name": name,
            "required": "Default" not in parameter.properties,
            "default": parameter.properties.get("Default"),
            "description": parameter.properties.get("Description", ""),
        }
        for name, parameter in sorted(root.template.parameters.items())
    ]


def _logical_id_in_parent(stack: Stack) -> str | None:
    if stack.parent is None:
        return None
    for nested in stack.parent.children:
        if nested.stack is stack:
            return nested.resource.title
    return None


def _unique_by_key(artifacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for artifact in artifacts:
        seen.setdefault(artifact["s3_key"], artifact)
    return list(seen.values())


# --- comparing with and writing to disk -------------------------------------


def stale_files(emissions: list[Emission], templates_dir: Path) -> list[str]:
    """Paths under `templates_dir` that differ from, are missing from, or are not in the build."""
    stale = []
    for emission in emissions:
        folder = templates_dir / emission.folder
        for name, data in sorted(emission.files.items()):
            path = folder / name
            if not path.is_file():
                stale.append(f"{path.relative_to(templates_dir.parent)} (missing)")
            elif path.read_bytes() != data:
                stale.append(f"{path.relative_to(templates_dir.parent)} (differs)")
        for path in _files_under(folder):
            if path.relative_to(folder).as_posix() not in emission.files:
                stale.append(f"{path.relative_to(templates_dir.parent)} (not produced by the build)")
    return stale


def write(emission: Emission, templates_dir: Path) -> None:
    """Write the emission's files, removing files in its folder that the build no longer makes."""
    folder = templates_dir / emission.folder
    for path in _files_under(folder):
        if path.relative_to(folder).as_posix() not in emission.files:
            path.unlink()
    for name, data in emission.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)


def _files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else []


def orphan_files(emissions: list[Emission], templates_dir: Path) -> list[Path]:
    """Files under `templates_dir` outside every emitted folder (a removed environment)."""
    folders = [templates_dir / emission.folder for emission in emissions]
    return [
        path for path in _files_under(templates_dir)
        if not any(folder in path.parents for folder in folders)
    ]
