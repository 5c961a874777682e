"""A root template and its nested templates, wired only through parameters and outputs.

A `Stack` owns one troposphere `Template`. `parent.nest(child, inputs...)` adds
an `AWS::CloudFormation::Stack` resource to the parent that passes the
child every parameter it declared, from typed inputs (`tap.wiring`), and
`NestedStack.outputs` reads a child's outputs with `Fn::GetAtt Child.Outputs.X`.

Nothing names a bucket, account, region or partition. The root takes the
artefact bucket as a parameter (empty means the bootstrap bucket of the
account and region it is deployed in) and passes the resolved name down to
every child that needs it. A child's `TemplateURL` and a function's `S3Key`
carry the sha256 of the exact bytes uploaded; because a parent's bytes hold
its children's keys, hashes are computed bottom-up when a template is first
rendered, and a stack is frozen from then on.

A setting whose value differs per account (a certificate or connection ARN)
is never written into a template either: the root declares it with
`configured_parameter`, without a default, and passes it down like any other
value; the config's value is recorded in `configured` (the manifest's
`parameters`), from which the deploy tool passes it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from troposphere import (
    AWSHelperFn,
    Equals,
    GetAtt,
    If,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
    cloudformation,
)

from tap import canonical, names, quotas, troposphere_fast, wiring
from tap.errors import BuildError

troposphere_fast.install()  # every template is a Stack's: its objects are set up cheaply

_STACK_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


class Rule(Protocol):
    """What a configured parameter's value must look like (a `tap.config.checks.Pattern`)."""

    @property
    def allowed(self) -> str: ...  # shown to whoever gives a value that does not match

    @property
    def allowed_pattern(self) -> str: ...


class Asset(Protocol):
    """Bytes a deploy uploads to the artefact bucket under `s3_key`."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def sha256(self) -> str: ...
    @property
    def s3_key(self) -> str: ...


# A rendered template's top-level sections: Parameters and Outputs whole, the others
# (Resources, Conditions, Mappings, ...) at least by name.
Outline = Mapping[str, Any]


def _outline_of(sections: Mapping[str, Any]) -> dict[str, Any]:
    """What a parent and the quota check read of a template (its `canonical.sections`, or
    its data), without the rest."""
    found: dict[str, Any] = {}
    for section, content in sections.items():
        if section in ("Parameters", "Outputs"):
            found[section] = canonical.plain(content)
        elif isinstance(content, Mapping):
            found[section] = list(content)
    return found


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


class Stack:
    """One template of a stack tree."""

    def __init__(
        self, name: str, description: str, *, is_root: bool = False, tags: Mapping[str, str] = {}
    ):
        """`tags`: the tree's tags, for a stack rendered before it is nested (its own nested
        stacks carry them); a stack nested first takes its tree's."""
        if not _STACK_NAME.fullmatch(name):
            raise ValueError(f"stack name {name!r} must be lower-case words joined by '-'")
        self.name = name
        self.is_root = is_root
        self.template = Template(Description=description)
        self.template.set_version()
        self.children: list[NestedStack] = []
        self.assets: list[Asset] = []
        self.parent: Stack | None = None
        self.tags: Mapping[str, str] = dict(tags)
        self.configured: dict[str, str] = {}
        self._bucket: Any = None
        self._finishers: list[Callable[[], None]] = []
        self._frozen = False
        self._outline: Outline | None = None

    @classmethod
    def root(cls, name: str, description: str, tags: Mapping[str, str] = {}) -> "Stack":
        return cls(name, description, is_root=True, tags=tags)

    # --- declaring inputs and outputs -------------------------------------

    def parameter(self, name: str, **properties: Any) -> Parameter:
        self._check_open()
        properties.setdefault("Type", "String")
        self._within_quota(self.template.parameters, quotas.MAX_PARAMETERS, "parameters")
        return self.template.add_parameter(Parameter(name, **properties))

    def configured_parameter(self, name: str, value: str, description: str, rule: Rule) -> Parameter:
        """A root parameter for a setting whose value differs per account. It has no
        default, so no account's value is baked into the template (one template serves
        every account: console, StackSets), and it takes the setting's own rule as
        AllowedPattern; the config's `value` is recorded in `configured` for the deploy."""
        if not self.is_root:
            raise ValueError(f"stack {self.name!r}: only a root takes configured parameters; "
                             "a nested stack receives them from its parent")
        if re.fullmatch(rule.allowed_pattern, value) is None:
            raise BuildError(f"{self.file_name}: parameter {name}: the configured value {value!r} "
                             f"does not match its own rule ({rule.allowed})")
        parameter = self.parameter(
            name, Description=description, AllowedPattern=rule.allowed_pattern,
            ConstraintDescription=rule.allowed,
        )
        self.configured[name] = value
        return parameter

    def output(self, name: str, value: Any, description: str) -> Output:
        self._check_open()
        self._within_quota(self.template.outputs, quotas.MAX_OUTPUTS, "outputs")
        return self.template.add_output(Output(name, Value=value, Description=description))

    def add(self, resource: Any) -> Any:
        """Add a resource and return it, so callers keep the object, not its name."""
        self._check_open()
        self._within_quota(self.template.resources, quotas.MAX_RESOURCES, "resources")
        return self.template.add_resource(resource)

    def _within_quota(self, section: Mapping[str, Any], limit: int, what: str) -> None:
        # troposphere would refuse the next item with a bare ValueError;
        # say which template crossed which quota instead.
        if len(section) >= limit:
            raise BuildError(
                f"{self.file_name} crosses CloudFormation quotas: {what}: more than {limit}"
            )

    def before_render(self, finish: Callable[[], None]) -> None:
        """Run `finish` once, just before the template is rendered (blocks that collect
        statements or rules use it to write them out)."""
        self._check_open()
        self._finishers.append(finish)

    # --- the artefact bucket ----------------------------------------------

    def artifact_bucket(self) -> Any:
        """An expression for the artefact bucket's name inside this template."""
        if self._bucket is None:
            self._check_open()
            self._bucket = self._root_bucket() if self.is_root else Ref(
                self.parameter(
                    names.ARTIFACT_BUCKET_PARAMETER,
                    Description="Artefact bucket holding nested templates and function code "
                    "(passed down by the parent stack).",
                )
            )
        return self._bucket

    def _root_bucket(self) -> Any:
        bucket = self.parameter(
            names.ARTIFACT_BUCKET_PARAMETER,
            Default="",
            Description="Bucket holding nested templates and function code, in this region. "
            "Empty: the bootstrap bucket tap-assets-<account>-<region>.",
        )
        account = self.parameter(
            names.ARTIFACT_ACCOUNT_PARAMETER,
            Default="",
            AllowedPattern=r"^(\d{12})?$",
            Description="Account owning the bootstrap bucket, for StackSets deployed from "
            "an administrator account. Empty: this stack's account.",
        )
        self.template.add_condition("ArtifactBucketGiven", Not(Equals(Ref(bucket), "")))
        self.template.add_condition("ArtifactAccountGiven", Not(Equals(Ref(account), "")))
        return If(
            "ArtifactBucketGiven",
            Ref(bucket),
            Sub(
                names.BOOTSTRAP_BUCKET_SUB,
                Account=If("ArtifactAccountGiven", Ref(account), Ref("AWS::AccountId")),
            ),
        )

    def upload(self, asset: Asset) -> tuple[Any, str]:
        """Register `asset` for upload; returns (bucket expression, key) to reference it."""
        self._check_open()
        if all(known.s3_key != asset.s3_key for known in self.assets):
            self.assets.append(asset)
        return self.artifact_bucket(), asset.s3_key

    # --- nesting ---------------------------------------------------------

    def nest(self, child: "Stack", *inputs: Any) -> "NestedStack":
        """Add `child` as a nested stack of this one; it receives each parameter it declared
        from `inputs` (wiring dataclasses, `wiring.prefixed` ones, or mappings of names
        computed by one function on both ends)."""
        self._check_open()
        if child.parent is not None or child.is_root:
            raise ValueError(f"stack {child.name!r} is already part of a tree")
        if child.tags and dict(child.tags) != dict(self.all_tags()):
            raise ValueError(f"stack {child.name!r} was made with tags {dict(child.tags)}, not its tree's")
        taken = {stack.name for stack in self.tree_root().walk()}
        if child.name in taken:
            raise ValueError(f"stack name {child.name!r} is used twice in one tree")
        child.parent = self
        resource = cloudformation.Stack(
            f"{camel(child.name)}Stack",
            TemplateURL=_ChildTemplateUrl(child, self),
            # Nested stacks are recreated from their templates; the stateful
            # resources inside them carry their own Retain/Snapshot policies.
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
        nested = NestedStack(child, resource, inputs)
        self.template.add_resource(resource)
        self.children.append(nested)
        return nested

    @classmethod
    def rendered(cls, name: str, body: bytes, children: list["Stack"], outline: Outline) -> "Stack":
        """A stack rendered earlier, from its bytes, its `outline` and its rendered children:
        frozen, nothing to render again, and its bytes parsed only if someone reads its
        document (a parent and the quota check read the outline)."""
        stack = cls(name, "")
        for child in children:
            child.parent = stack
            resource = cloudformation.Stack(f"{camel(child.name)}Stack")
            stack.children.append(NestedStack(child, resource, ()))
        stack.__dict__["body"] = body  # the cached property, as rendered
        stack._outline = outline
        stack._frozen = True
        return stack

    def outline(self) -> Outline:
        """The rendered template's sections by name; renders the stack if it is not yet."""
        if self._outline is None:
            self.body
        assert self._outline is not None  # rendering outlines the stack
        return self._outline

    def declared(self, section: str) -> Mapping[str, Any]:
        """The stack's "Parameters" or "Outputs" by name: as rendered once it is, else as
        declared so far (reading this never renders a stack)."""
        if self._outline is not None:
            return self._outline.get(section, {})
        return {"Parameters": self.template.parameters, "Outputs": self.template.outputs}[section]

    def release(self) -> None:
        """Drop this rendered tree's objects: for whoever keeps only its bytes. Parents and
        children refer to each other (a child's URL is resolved through its parent), so
        otherwise only the cycle collector, which a build switches off, frees them. The
        stacks are unusable afterwards."""
        for member in list(self.walk()):
            member.__dict__.clear()

    def tree_root(self) -> "Stack":
        return self if self.parent is None else self.parent.tree_root()

    def walk(self) -> Iterator["Stack"]:
        """This stack and all its descendants, parents before children."""
        yield self
        for nested in self.children:
            yield from nested.stack.walk()

    def all_tags(self) -> Mapping[str, str]:
        return self.tree_root().tags

    # --- rendering -------------------------------------------------------

    @cached_property
    def body(self) -> bytes:
        """The template's canonical bytes; rendering freezes and outlines the stack."""
        for finish in self._finishers:
            finish()
        for nested in self.children:
            nested.finalize()
        if self.children:
            self.artifact_bucket()  # every TemplateURL names it
        self._frozen = True
        sections = canonical.sections(self.template)
        body = canonical.dumps(sections)
        self._outline = _outline_of(sections)
        return body

    @cached_property
    def document(self) -> dict[str, Any]:
        """The template as JSON data, read back from its bytes (few need more than the
        outline)."""
        return canonical.loads(self.body)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def s3_key(self) -> str:
        return names.template_key(self.name, self.sha256)

    @property
    def file_name(self) -> str:
        return self.name + names.TEMPLATE_SUFFIX

    def _check_open(self) -> None:
        if self._frozen:
            raise RuntimeError(f"stack {self.name!r} was already rendered and can no longer change")


@dataclass
class NestedStack:
    """A child stack as its parent sees it: the Stack resource and the inputs passed in."""

    stack: Stack
    resource: cloudformation.Stack
    inputs: tuple[Any, ...]

    def outputs(self, cls: type[wiring.Wires], prefix: str = "") -> wiring.Wires:
        """The child's outputs declared by `cls` (names after `prefix`), as `Fn::GetAtt`s."""
        return wiring.read(self, cls, prefix)

    def output(self, name: str) -> GetAtt:
        outputs = self.stack.declared("Outputs")
        if name not in outputs:
            known = ", ".join(sorted(outputs)) or "none"
            raise KeyError(f"stack {self.stack.name!r} has no output {name!r}; it has: {known}")
        return GetAtt(self.resource, f"Outputs.{name}")

    def finalize(self) -> None:
        """Pass every parameter the child declared, the artefact bucket too if it needs it."""
        self.stack.body  # render (and freeze) the child first: its parameters are now final
        parameters = self.parameters()
        if parameters:
            self.resource.Parameters = dict(sorted(parameters.items()))
        tags = self.stack.all_tags()
        if tags:
            self.resource.Tags = Tags(**dict(tags))

    def parameters(self) -> dict[str, Any]:
        """The values of the child's declared parameters, from the inputs; a parameter the
        inputs give twice, or without a value, or not at all (and without a default) fails."""
        declared = self.stack.declared("Parameters")
        given: dict[str, Any] = {}
        twice, unset = set(), set()
        for inputs in self.inputs:
            for name, value in wiring.passed(inputs):
                if name not in declared:
                    continue
                if name in given:
                    twice.add(name)
                if value is None:
                    unset.add(name)
                given[name] = value
        if names.ARTIFACT_BUCKET_PARAMETER in declared and self.stack.parent is not None:
            given[names.ARTIFACT_BUCKET_PARAMETER] = self.stack.parent.artifact_bucket()
        missing = {
            name for name, parameter in declared.items()
            if name not in given and "Default" not in parameter
        }
        if twice or unset or missing:
            raise ValueError(
                f"nested stack {self.stack.name!r}: parameters given twice {sorted(twice)}, "
                f"without a value {sorted(unset)}, missing {sorted(missing)}"
            )
        return given


class _ChildTemplateUrl(AWSHelperFn):
    """The child's S3 URL, resolved when the parent renders (after the child's hash is known)."""

    def __init__(self, child: Stack, parent: Stack):
        self.child = child
        self.parent = parent

    def to_dict(self) -> Any:
        url = "https://${Bucket}.s3.${AWS::Region}.${AWS::URLSuffix}/" + self.child.s3_key
        return Sub(url, Bucket=self.parent.artifact_bucket()).to_dict()
