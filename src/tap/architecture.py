"""Architecture diagrams: each system's main resources and how requests and data flow between them.

`tap.graph` draws which stack nests which; this module draws what is inside
them. Everything comes from the emitted templates, nothing from a list kept
by hand:

1. **References.** Every `Ref`, `Fn::GetAtt` and `Fn::Sub` inside a
   resource's properties is an arrow from that resource to what it names.
   A parameter is followed up to the value its parent passes, and a
   `Fn::GetAtt Child.Outputs.X` across to the output's value in the sibling,
   until a resource is reached. A reference inside an IAM statement carries
   the statement's actions (they become "reads", "writes", "starts").
2. **Folding.** Only the main resources are drawn (`SHOWN`). A part that
   belongs to one of them merges into it (`MERGED_INTO`: an API method into
   its API, a listener rule into its load balancer), a go-between is
   bridged (`BRIDGED`: a function's role, so function -> role -> table
   becomes function -> table), and everything else is left out with its
   arrows (log groups, alarms, security groups, subnets ...).
3. **Shards.** Stacks named `<name>-<number>` (`services-015`) are shards of
   one family; a family is drawn once, with one node per resource type and
   a count, so a thousand services stay one "ECS service × 1000" node.
4. **Mermaid.** Top-down: who comes from outside, then what they reach, data
   stores at the bottom. One `subgraph` per nested stack (shards nested as
   their stacks are), arrows labelled with a verb, access logs dotted;
   declared in the order a request meets them and otherwise sorted, so the
   text is a pure function of the templates.

`render_png` turns a page into the PNG the README shows, with the Mermaid CLI.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap.emit import Emission
from tap.errors import UserError
from tap.stacktree import Stack

# The environment each system is drawn from: prod switches on the most (WAF,
# aliases, every service). A system without prod is drawn from its largest one.
SHOWN_ENVIRONMENT = "prod"

DOCS_FOLDER = "docs/architecture"

_NESTED_STACK = "AWS::CloudFormation::Stack"

# --- what is drawn, merged, bridged -----------------------------------------

# Resource type -> what the diagram calls it. Data stores are drawn as cylinders.
SHOWN = {
    "AWS::ApiGateway::RestApi": "REST API",
    "AWS::CloudFront::Distribution": "CloudFront",
    "AWS::CodeBuild::Project": "CodeBuild project",
    "AWS::CodeConnections::Connection": "GitHub connection",
    "AWS::CodePipeline::Pipeline": "CodePipeline",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::ECR::Repository": "ECR repository",
    "AWS::ECS::Cluster": "ECS cluster",
    "AWS::ECS::Service": "ECS service",
    "AWS::ElastiCache::ReplicationGroup": "ElastiCache",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::IAM::OIDCProvider": "OIDC provider",
    "AWS::Lambda::Function": "Lambda function",
    "AWS::RDS::DBCluster": "RDS cluster",
    "AWS::RDS::DBInstance": "RDS",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::WAFv2::WebACL": "WAF web ACL",
}

DATA_STORES = {
    "AWS::DynamoDB::Table",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::S3::Bucket",
}

# A part merges into the resource its property names: its arrows become the owner's.
MERGED_INTO = {
    "AWS::ApiGateway::Method": "RestApiId",  # holds the integration: API -> function
    "AWS::ElasticLoadBalancingV2::Listener": "LoadBalancerArn",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "ListenerArn",  # forwards to a target group
    "AWS::IAM::Policy": "Roles",
    "AWS::Lambda::Version": "FunctionName",  # CloudFront names the edge function's version
    "AWS::Logs::Delivery": "DeliverySourceName",
    "AWS::Logs::DeliverySource": "ResourceArn",  # the resource whose logs are delivered
}

# A secret that a data store takes as its credential (a cache's auth token) is
# drawn as part of the store: whoever reads it connects to the store.
CREDENTIALS = {"AWS::SecretsManager::Secret"}

# A go-between is bridged: every arrow into it joins every arrow out of it.
BRIDGED = {
    "AWS::CloudFront::VpcOrigin",  # distribution -> VPC origin -> internal load balancer
    "AWS::ECS::TaskDefinition",  # service -> task definition -> image, database, secrets
    "AWS::ElasticLoadBalancingV2::TargetGroup",  # listener rule -> target group -> service
    "AWS::IAM::Role",  # function -> role -> what its policy grants
    "AWS::Logs::DeliveryDestination",  # delivery -> destination -> bucket
}

# References that point against the flow: a service names the target group that
# sends it traffic, a role names the principal that assumes it.
_REVERSED = {("AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::TargetGroup")}
_TRUST_POLICY = "AssumeRolePolicyDocument"

# Where a reference says "this resource's logs go there" (dotted arrows).
_LOGGING = re.compile(r"Logging|access_logs|AWS::Logs::Delivery")


@dataclass(frozen=True)
class Wiring:
    """How an arrow between two shown types reads: its verb, and whether it is drawn
    from the target to the source (an image is pulled by a service, not the reverse)."""

    verb: str
    reverse: bool = False
    dotted: bool = False
    in_front: bool = False  # requests from outside reach the source first (a WAF)


_LOGS_TO = Wiring("logs to", dotted=True)

# (source type, target type) of a folded arrow -> how it reads; None: not drawn,
# for the reason beside it. Arrows without an entry take their verb from IAM.
WIRINGS: dict[tuple[str, str], Wiring | None] = {
    ("AWS::ApiGateway::RestApi", "AWS::Lambda::Function"): Wiring("invokes"),
    ("AWS::CloudFront::Distribution", "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        Wiring("routes to"),
    ("AWS::CloudFront::Distribution", "AWS::Lambda::Function"): Wiring("checks with"),
    ("AWS::CloudFront::Distribution", "AWS::S3::Bucket"): Wiring("reads"),
    ("AWS::CloudFront::Distribution", "AWS::WAFv2::WebACL"):
        Wiring("filters", reverse=True, in_front=True),
    ("AWS::CodeBuild::Project", "AWS::ECR::Repository"): Wiring("pushes"),
    ("AWS::CodePipeline::Pipeline", "AWS::CodeBuild::Project"): Wiring("builds with"),
    ("AWS::CodePipeline::Pipeline", "AWS::CodeConnections::Connection"):
        Wiring("source", reverse=True),
    ("AWS::CodePipeline::Pipeline", "AWS::ECS::Cluster"): None,  # it deploys the service
    # The artefacts a pipeline hands between its stages: an arrow from every
    # pipeline to that bucket crosses the request path and tells little.
    ("AWS::CodePipeline::Pipeline", "AWS::S3::Bucket"): None,
    ("AWS::CodeBuild::Project", "AWS::S3::Bucket"): None,
    ("AWS::CodePipeline::Pipeline", "AWS::ECS::Service"): Wiring("deploys"),
    ("AWS::ECS::Service", "AWS::ECR::Repository"): Wiring("pulled by", reverse=True),
    ("AWS::ECS::Service", "AWS::ECS::Cluster"): Wiring("runs", reverse=True),
    # Secrets are inputs, drawn above whoever reads them (data stores go below).
    # ECS puts a task's secrets into its environment before the container starts.
    ("AWS::ECS::Service", "AWS::SecretsManager::Secret"): Wiring("injected into", reverse=True),
    ("AWS::Lambda::Function", "AWS::SecretsManager::Secret"): Wiring("read by", reverse=True),
    ("AWS::ECS::Service", "AWS::ElastiCache::ReplicationGroup"): Wiring("connects to"),
    ("AWS::ECS::Service", "AWS::RDS::DBInstance"): Wiring("connects to"),
    ("AWS::ECS::Service", "AWS::RDS::DBCluster"): Wiring("connects to"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ECS::Service"): Wiring("routes to"),
    # A function that hands out the distribution's host name (signed download links).
    ("AWS::Lambda::Function", "AWS::CloudFront::Distribution"): Wiring("links to"),
}

# Who reaches an entry point from outside the account.
ENTRY_POINTS = {
    "AWS::CloudFront::Distribution": "users",
    "AWS::ApiGateway::RestApi": "API clients",
    "AWS::IAM::OIDCProvider": "git push",
}

# What the page says is not drawn, for the resource types a system has.
LEFT_OUT = {
    "AWS::IAM::Role": "IAM roles and policies (their grants are the arrows)",
    "AWS::ApiGateway::Method": "API methods, resources and models (folded into the API)",
    "AWS::Lambda::Version": "Lambda versions (folded into their function)",
    "AWS::ECS::TaskDefinition": "task definitions (folded into their service)",
    "AWS::ElasticLoadBalancingV2::TargetGroup":
        "listeners, rules and target groups (folded into the load balancer's arrows)",
    "AWS::Logs::LogGroup": "log groups",
    "AWS::CloudWatch::Alarm": "alarms and dashboards",
    "AWS::EC2::VPC": "the network",
    "AWS::EC2::SecurityGroup": "security groups",
    "AWS::CodePipeline::Pipeline": "the artefacts pipelines hand between their stages",
}

_READS = ("Get", "BatchGet", "BatchCheck", "Describe", "List", "Query", "Scan", "Decrypt")
_WRITES = ("Put", "Update", "Delete", "BatchWrite", "Create", "Upload", "InitiateLayerUpload",
           "CompleteLayerUpload", "Abort", "Register", "GenerateDataKey")
_STARTS = ("Start",)


# --- public API ---------------------------------------------------------------


def documents(emissions: list[Emission]) -> dict[str, str]:
    """Relative path under the repository -> Markdown with one ```mermaid block, per system.

    Bootstrap (a folder without an environment) has no diagram. Each system is
    drawn from `SHOWN_ENVIRONMENT`, or its largest environment when it has none.
    """
    by_system: dict[str, list[Emission]] = defaultdict(list)
    for emission in emissions:
        system, _, env = emission.folder.partition("/")
        if env:
            by_system[system].append(emission)
    pages = {}
    for system, candidates in sorted(by_system.items()):
        shown = shown_emission(candidates)
        others = sorted(e.folder.partition("/")[2] for e in candidates if e is not shown)
        pages[f"{DOCS_FOLDER}/{system}.md"] = document(shown, others)
    return pages


def shown_emission(candidates: list[Emission]) -> Emission:
    """The environment a system's page draws (see SHOWN_ENVIRONMENT)."""
    for emission in candidates:
        if emission.folder.endswith("/" + SHOWN_ENVIRONMENT):
            return emission
    return max(candidates, key=lambda emission: (emission.resource_count, emission.folder))


def render_png(markdown: Path, png: Path) -> None:
    """Render the document's Mermaid block to a PNG with the Mermaid CLI (`mmdc`).

    Uses `mmdc` on PATH, else `npx mmdc` (a local `npm install @mermaid-js/mermaid-cli`),
    with Chromium from PATH when there is one. Raises UserError naming what to install.
    """
    block = mermaid_block(markdown.read_text())
    command = _mermaid_cli()
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tap-mermaid-") as scratch:
        source = Path(scratch) / "diagram.mmd"
        source.write_text(block)
        settings = Path(scratch) / "mermaid.json"
        # At its natural size: by default Mermaid shrinks a wide diagram to the page.
        settings.write_text(json.dumps({"flowchart": {"useMaxWidth": False}}))
        # Twice the pixels, so text stays sharp when a page scales the picture down.
        arguments = ["-i", str(source), "-o", str(png), "--configFile", str(settings),
                     "--backgroundColor", "white", "--scale", "2", "--quiet"]
        browser = _browser()
        if browser:
            config = Path(scratch) / "puppeteer.json"
            # Root in a container has no user namespaces for Chromium's sandbox.
            config.write_text(json.dumps({"executablePath": browser,
                                          "args": ["--no-sandbox", "--disable-gpu", "--headless"]}))
            arguments += ["--puppeteerConfigFile", str(config)]
        result = subprocess.run([*command, *arguments], check=False, capture_output=True,
                                text=True)
    if result.returncode != 0 or not png.is_file():
        problem = (result.stderr or result.stdout).strip().splitlines()
        raise UserError(
            f"mmdc could not render {markdown}: {problem[-1] if problem else 'no output'}; "
            "it needs a headless browser: apt-get install chromium, or set "
            "PUPPETEER_EXECUTABLE_PATH to one"
        )


def mermaid_block(markdown: str) -> str:
    match = re.search(r"^```mermaid\n(.*?)^```$", markdown, re.DOTALL | re.MULTILINE)
    if match is None:
        raise UserError("no ```mermaid block in the document")
    return match.group(1)


def _mermaid_cli() -> list[str]:
    if shutil.which("mmdc"):
        return ["mmdc"]
    if shutil.which("npx"):
        # --no-install: use a local install, never fetch a package while rendering.
        probe = subprocess.run(["npx", "--no-install", "mmdc", "--version"],
                               check=False, capture_output=True, text=True)
        if probe.returncode == 0:
            return ["npx", "--no-install", "mmdc"]
    raise UserError(
        "rendering needs the Mermaid CLI: npm install -g @mermaid-js/mermaid-cli "
        "(or install it in a folder and run from there), and a headless browser: "
        "apt-get install chromium"
    )


def _browser() -> str | None:
    """The browser to hand puppeteer: the one it was told, else a Chromium on PATH (None:
    puppeteer's own download, if any)."""
    if os.environ.get("PUPPETEER_EXECUTABLE_PATH"):
        return os.environ["PUPPETEER_EXECUTABLE_PATH"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


# --- 1. references --------------------------------------------------------------

NodeKey = tuple[str, str]  # (stack name, logical id)


@dataclass(frozen=True)
class Reference:
    """`source` names `target` at `path` (type and property path), inside an IAM
    statement granting `actions` if any."""

    source: NodeKey
    target: NodeKey
    path: str
    actions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Name:
    """A name found in a template value: `Ref Name`, `GetAtt Name.Attribute`, `${Name}`."""

    name: str
    attribute: str
    path: str
    actions: frozenset[str]


class Tree:
    """The parsed templates of one emission, and how a name in one resolves to resources."""

    def __init__(self, emission: Emission):
        self.stacks: dict[str, Stack] = {info.stack.name: info.stack for info in emission.templates}
        self.bodies: dict[str, dict] = {
            name: json.loads(stack.body) for name, stack in self.stacks.items()
        }
        # A shard's parameters are named by every resource in it: resolve each once.
        self._parameters: dict[tuple[str, str], set[NodeKey]] = {}

    def resources(self, stack: str) -> dict[str, dict]:
        return self.bodies[stack].get("Resources", {})

    def type_of(self, node: NodeKey) -> str:
        return self.resources(node[0])[node[1]]["Type"]

    def nodes(self) -> Iterator[NodeKey]:
        for stack in self.stacks:
            for logical_id, resource in sorted(self.resources(stack).items()):
                if resource["Type"] != _NESTED_STACK:
                    yield stack, logical_id

    def references(self) -> list[Reference]:
        found = []
        for node in self.nodes():
            resource = self.resources(node[0])[node[1]]
            for name in _names(resource.get("Properties", {}), resource["Type"]):
                for target in self.resolve(node[0], name.name, name.attribute):
                    found.append(Reference(node, target, name.path, name.actions))
        return found

    def resolve(self, stack: str, name: str, attribute: str = "") -> set[NodeKey]:
        """The resources a name in `stack` stands for, across nested-stack boundaries."""
        resources = self.resources(stack)
        if name in resources:
            if resources[name]["Type"] != _NESTED_STACK:
                return {(stack, name)}
            child = self._child(stack, name)
            output = attribute.removeprefix("Outputs.")
            if child is None or output == attribute:
                return set()
            value = self.bodies[child].get("Outputs", {}).get(output, {}).get("Value")
            return self._resolve_value(child, value)
        if name in self.bodies[stack].get("Parameters", {}):
            return self._resolve_parameter(stack, name)
        return set()  # a pseudo parameter, a condition, a Sub variable

    def _resolve_parameter(self, stack: str, name: str) -> set[NodeKey]:
        if (stack, name) not in self._parameters:
            parent = self.stacks[stack].parent
            if parent is None:
                resolved = set()  # a root parameter comes from whoever deploys
            else:
                nested = self.resources(parent.name)[self._logical_id(self.stacks[stack])]
                passed = nested.get("Properties", {}).get("Parameters", {}).get(name)
                resolved = self._resolve_value(parent.name, passed)
            self._parameters[(stack, name)] = resolved
        return self._parameters[(stack, name)]

    def _resolve_value(self, stack: str, value: Any) -> set[NodeKey]:
        targets: set[NodeKey] = set()
        for name in _names(value, ""):
            targets |= self.resolve(stack, name.name, name.attribute)
        return targets

    def _child(self, stack: str, logical_id: str) -> str | None:
        for nested in self.stacks[stack].children:
            if nested.resource.title == logical_id:
                return nested.stack.name
        return None

    @staticmethod
    def _logical_id(stack: Stack) -> str:
        assert stack.parent is not None, f"{stack.name} is a root: it has no logical id"
        (logical_id,) = [n.resource.title for n in stack.parent.children if n.stack is stack]
        return logical_id


def _names(value: Any, path: str, actions: frozenset[str] = frozenset()) -> Iterator[_Name]:
    """Every name a template value refers to, with where it was found."""
    if isinstance(value, list):
        for item in value:
            yield from _names(item, path + _item_label(item), actions)
        return
    if not isinstance(value, dict):
        return
    if set(value) == {"Ref"}:
        yield _Name(value["Ref"], "", path, actions)
        return
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        name, attribute = target if isinstance(target, list) else target.split(".", 1)
        yield _Name(name, attribute, path, actions)
        return
    if set(value) == {"Fn::Sub"}:
        yield from _sub_names(value["Fn::Sub"], path, actions)
        return
    if "Action" in value and "Effect" in value:
        granted = _as_list(value["Action"])
        if granted == ["iam:PassRole"]:
            return  # handing a role to a service is not data flowing anywhere
        actions = frozenset(granted)
    for key, item in sorted(value.items()):
        yield from _names(item, f"{path}.{key}", actions)


def _sub_names(sub: Any, path: str, actions: frozenset[str]) -> Iterator[_Name]:
    text, variables = (sub, {}) if isinstance(sub, str) else sub
    for item in variables.values():
        yield from _names(item, path, actions)
    for placeholder in re.findall(r"\$\{([^!}][^}]*)\}", text):
        name, _, attribute = placeholder.partition(".")
        if name not in variables:
            yield _Name(name, attribute, path, actions)


def _item_label(item: Any) -> str:
    """`[access_logs.s3.bucket]` for a Key/Value pair, so a path says what the value is."""
    if isinstance(item, dict):
        for key in ("Key", "Name"):
            if isinstance(item.get(key), str):
                return f"[{item[key]}]"
    return ""


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# --- 2. folding -------------------------------------------------------------------


@dataclass
class Flow:
    """What is known about one arrow: the property paths and IAM actions behind it."""

    paths: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)

    def add(self, other: Flow) -> None:
        self.paths |= other.paths
        self.actions |= other.actions


Arrows = dict[tuple[NodeKey, NodeKey], Flow]


@dataclass
class Folded:
    """The shown resources of a tree and the arrows between them."""

    resources: list[NodeKey]
    arrows: Arrows


def fold(tree: Tree) -> Folded:
    """Keep the shown resources: parts merged into their owners, go-betweens bridged."""
    references = tree.references()
    owners = _owners(tree, references)
    arrows: Arrows = defaultdict(Flow)
    for reference in references:
        oriented = _oriented(tree, reference)
        source, target = owners.get(oriented[0], oriented[0]), owners.get(oriented[1], oriented[1])
        if source is None or target is None or source == target:
            continue
        if _kept(tree.type_of(source)) and _kept(tree.type_of(target)):
            arrows[(source, target)].add(Flow({reference.path}, set(reference.actions)))
    go_betweens = sorted(node for node in tree.nodes() if tree.type_of(node) in BRIDGED)
    shown = [node for node in tree.nodes() if tree.type_of(node) in SHOWN and node not in owners]
    return Folded(sorted(shown), _bridged(arrows, go_betweens))


def _kept(resource_type: str) -> bool:
    return resource_type in SHOWN or resource_type in BRIDGED


def _oriented(tree: Tree, reference: Reference) -> tuple[NodeKey, NodeKey]:
    pair = (tree.type_of(reference.source), tree.type_of(reference.target))
    if pair in _REVERSED or _TRUST_POLICY in reference.path:
        return reference.target, reference.source
    return reference.source, reference.target


def _owners(tree: Tree, references: list[Reference]) -> dict[NodeKey, NodeKey | None]:
    """Each part's owner, followed until a resource that is not a part (None: no owner)."""
    direct: dict[NodeKey, NodeKey | None] = {
        node: None for node in tree.nodes() if tree.type_of(node) in MERGED_INTO
    }
    for reference in sorted(references, key=lambda reference: (reference.target, reference.source)):
        source_type = tree.type_of(reference.source)
        if _property(reference.path) == MERGED_INTO.get(source_type):
            direct[reference.source] = direct[reference.source] or reference.target
        elif tree.type_of(reference.target) in CREDENTIALS and source_type in DATA_STORES:
            direct.setdefault(reference.target, reference.source)
    owners = {}
    for node, owner in direct.items():
        while owner in direct:
            owner = direct[owner]
        owners[node] = owner
    return owners


def _property(path: str) -> str:
    """The top-level property of a path like `AWS::IAM::Policy.Roles`."""
    return re.split(r"[.\[]", path.split(".", 1)[1])[0] if "." in path else ""


def _bridged(arrows: Arrows, go_betweens: list[NodeKey]) -> Arrows:
    """Replace each go-between by arrows from everything into it to everything out of it."""
    outgoing: dict[NodeKey, dict[NodeKey, Flow]] = defaultdict(dict)
    incoming: dict[NodeKey, dict[NodeKey, Flow]] = defaultdict(dict)
    for (source, target), flow in arrows.items():
        outgoing[source][target] = incoming[target][source] = flow
    for node in go_betweens:
        into, out = incoming.pop(node, {}), outgoing.pop(node, {})
        for source in into:
            del outgoing[source][node]
        for target in out:
            del incoming[target][node]
        for source, before in into.items():
            for target, after in out.items():
                if source != target:
                    flow = outgoing[source].setdefault(target, Flow())
                    incoming[target][source] = flow
                    flow.add(before)
                    flow.add(after)
    return {(source, target): flow
            for source, targets in outgoing.items() for target, flow in targets.items()}


def wiring(source_type: str, target_type: str, flow: Flow) -> Wiring | None:
    """How an arrow reads: logs dotted, then the verb for the pair, then IAM's verb."""
    if any(_LOGGING.search(path) for path in flow.paths):
        return _LOGS_TO
    pair = (source_type, target_type)
    if pair in WIRINGS:
        return WIRINGS[pair]
    return Wiring(iam_verb(flow.actions))


def iam_verb(actions: set[str]) -> str:
    """`starts`, `reads`, `writes` or `reads, writes` for the actions an IAM statement grants."""
    names = {action.partition(":")[2] for action in actions}
    if any(name.startswith(_STARTS) for name in names):
        return "starts"
    reads = any(name == "*" or name.startswith(_READS) for name in names)
    writes = any(name == "*" or name.startswith(_WRITES) for name in names)
    return ", ".join(verb for verb, granted in (("reads", reads), ("writes", writes)) if granted)


# --- 3. shards ----------------------------------------------------------------------

_SHARD = re.compile(r"^(?P<family>.+)-(?P<number>\d+)$")
_FAMILY = "-NNN"  # stack names are lower case: no stack has this suffix itself


def group_of(stack: str) -> str:
    """The subgraph a stack is drawn in: its own name, or `<family>-NNN` for a shard."""
    match = _SHARD.match(stack)
    return match["family"] + _FAMILY if match else stack


@dataclass
class Node:
    """One box of the diagram: a resource, or every resource of one type in a shard family."""

    id: str
    group: str
    type: str
    name: str
    count: int = 0
    detail: str = ""

    @property
    def label(self) -> str:
        kind = SHOWN[self.type]
        if self.count:
            return f"{kind} × {self.count}"
        lines = [self.name, kind] + ([self.detail] if self.detail else [])
        return "<br/>".join(lines)


_NUMBER = re.compile(r"\d+")


def numbered_families(keys: Iterable[NodeKey]) -> set[tuple[str, str]]:
    """(stack, logical id with its numbers as N) shared by several resources of one stack,
    such as LoadBalancer0 and LoadBalancer1: each family is drawn as one box with a count."""
    seen = Counter((stack, _NUMBER.sub("N", logical_id)) for stack, logical_id in keys
                   if _NUMBER.search(logical_id))
    return {family for family, count in seen.items() if count > 1}


def diagram_node(
    tree: Tree, key: NodeKey, families: AbstractSet[tuple[str, str]] = frozenset()
) -> tuple[str, str]:
    """(node id, group) of a resource; resources of a shard family share one node per type,
    and so do the numbered resources of one stack."""
    stack, logical_id = key
    group = group_of(stack)
    if group != stack:
        return _mermaid_id(group, tree.type_of(key).removeprefix("AWS::")), group
    family = (stack, _NUMBER.sub("N", logical_id))
    if family in families:
        return _mermaid_id(stack, family[1]), group
    return _mermaid_id(stack, logical_id), group


def _mermaid_id(group: str, name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", f"{group}__{name}")


def detail(resource: dict) -> str:
    """One fact that tells two boxes of the same kind apart: an alias, an engine."""
    properties = resource.get("Properties", {})
    aliases = properties.get("DistributionConfig", {}).get("Aliases")
    if aliases:
        return ", ".join(aliases)
    if "Engine" in properties and isinstance(properties.get("EngineVersion"), str):
        return f"{properties['Engine']} {properties['EngineVersion']}"
    return ""


# --- 4. Mermaid -------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    how: Wiring


@dataclass
class Diagram:
    """What is drawn: boxes, arrows as they read, and the stacks that group them."""

    nodes: dict[str, Node]
    arrows: list[Arrow]
    groups: list[str]  # in stack-tree order
    parents: dict[str, str | None]
    stack_counts: dict[str, int]  # a shard family draws several stacks as one group
    resource_types: set[str]  # of every resource, drawn or not

    def title(self, group: str) -> str:
        if group.endswith(_FAMILY):
            return f"{group} × {self.stack_counts[group]}"
        return group

    def empty_groups(self) -> list[str]:
        """Stacks (families) with nothing drawn, in stack-tree order."""
        return [group for group in self.groups
                if not any(node.group == group for node in self.nodes.values())]


def diagram(emission: Emission) -> Diagram:
    tree = Tree(emission)
    folded = fold(tree)
    nodes: dict[str, Node] = {}
    families = numbered_families(folded.resources)
    for key in folded.resources:
        node_id, group = diagram_node(tree, key, families)
        node = nodes.setdefault(node_id, Node(node_id, group, tree.type_of(key), key[1]))
        if group != key[0] or (key[0], _NUMBER.sub("N", key[1])) in families:
            node.count += 1
        else:
            node.detail = detail(tree.resources(key[0])[key[1]])
    merged: dict[tuple[str, str], Flow] = defaultdict(Flow)
    for (source, target), flow in folded.arrows.items():
        ids = (diagram_node(tree, source, families)[0], diagram_node(tree, target, families)[0])
        if ids[0] != ids[1]:
            merged[ids].add(flow)
    groups: list[str] = []
    parents: dict[str, str | None] = {}
    counts: defaultdict[str, int] = defaultdict(int)
    for stack in list(emission.root.walk())[1:]:  # the root is the whole picture
        assert stack.parent is not None  # walk() gives the root first
        group = group_of(stack.name)
        counts[group] += 1
        if group not in parents:
            groups.append(group)
            parents[group] = group_of(stack.parent.name) if stack.parent.parent else None
    types = {tree.type_of(key) for key in tree.nodes()}
    return Diagram(nodes, _drawn_arrows(nodes, merged), groups, parents, dict(counts), types)


def _drawn_arrows(nodes: dict[str, Node], merged: dict[tuple[str, str], Flow]) -> list[Arrow]:
    drawn = []
    for (source, target), flow in sorted(merged.items()):
        how = wiring(nodes[source].type, nodes[target].type, flow)
        if how is not None:
            drawn.append(Arrow(target, source, how) if how.reverse else Arrow(source, target, how))
    return drawn


def flow_order(drawing: Diagram) -> dict[str, int]:
    """Node id -> position when walking the arrows breadth-first from the entry points.

    Mermaid's layout starts from the order boxes are declared in; declaring them
    in the order a request meets them leaves it fewer crossings to undo.
    """
    following: dict[str, list[str]] = defaultdict(list)
    for arrow in drawing.arrows:
        following[arrow.source].append(arrow.target)
    order: dict[str, int] = {}
    for entry in _entries(drawing):
        queue = _reached_first(drawing, entry)
        while queue:
            node_id = queue.pop(0)
            if node_id not in order:
                order[node_id] = len(order)
                queue += sorted(following[node_id])
    for node_id in sorted(drawing.nodes):
        order.setdefault(node_id, len(order))
    return order


def _entries(drawing: Diagram) -> list[str]:
    """Entry points in the order of ENTRY_POINTS (the public site first), then by id."""
    kinds = list(ENTRY_POINTS)
    entries = [node for node in drawing.nodes.values() if node.type in ENTRY_POINTS]
    return [node.id for node in sorted(entries, key=lambda node: (kinds.index(node.type), node.id))]


def mermaid(emission: Emission) -> str:
    return render_mermaid(diagram(emission))


def render_mermaid(drawing: Diagram) -> str:
    """A top-down flowchart: who comes in at the top, data stores at the bottom."""
    order = flow_order(drawing)
    lines = ["flowchart TB"]
    lines += _entry_lines(drawing)
    lines += _group_lines(drawing, order, None, "  ")
    lines += _arrow_lines(drawing, order)
    return "\n".join(lines)


def _entry_lines(drawing: Diagram) -> list[str]:
    """Who comes from outside, with an arrow to what they reach first."""
    lines, declared = [], set()
    for node_id in _entries(drawing):
        who = ENTRY_POINTS[drawing.nodes[node_id].type]
        actor = _mermaid_id("actor", who)
        if actor not in declared:
            declared.add(actor)
            lines.append(f'  {actor}(["{who}"])')
        lines += [f"  {actor} --> {first}" for first in _reached_first(drawing, node_id)]
    return lines


def _reached_first(drawing: Diagram, entry: str) -> list[str]:
    in_front = sorted(arrow.source for arrow in drawing.arrows
                      if arrow.target == entry and arrow.how.in_front)
    return in_front or [entry]


def _group_lines(
    drawing: Diagram, order: dict[str, int], parent: str | None, indent: str
) -> list[str]:
    """Subgraphs of `parent`'s child stacks, first-reached first, each with its boxes."""
    lines = []
    children = [group for group in drawing.groups if drawing.parents[group] == parent]
    for group in sorted(children, key=lambda group: _first(drawing, order, group)):
        members = sorted((node for node in drawing.nodes.values() if node.group == group),
                         key=lambda node: order[node.id])
        inner = _group_lines(drawing, order, group, indent + "  ")
        if not members and not inner:
            continue
        lines.append(f'{indent}subgraph {_mermaid_id("stack", group)}["{drawing.title(group)}"]')
        lines += [f"{indent}  {_node_line(node)}" for node in members]
        lines += inner
        lines.append(f"{indent}end")
    return lines


def _first(drawing: Diagram, order: dict[str, int], group: str) -> tuple[int, str]:
    """When a walk from the entry points first reaches a group or one of its children."""
    inside = {group} | {child for child in drawing.groups if _within(drawing, child, group)}
    positions = [order[node.id] for node in drawing.nodes.values() if node.group in inside]
    return min(positions, default=len(order)), group


def _within(drawing: Diagram, group: str, ancestor: str) -> bool:
    parent = drawing.parents[group]
    return parent is not None and (parent == ancestor or _within(drawing, parent, ancestor))


def _node_line(node: Node) -> str:
    label = node.label.replace('"', "#quot;")
    if node.type in DATA_STORES:
        return f'{node.id}[("{label}")]'
    return f'{node.id}["{label}"]'


def _arrow_lines(drawing: Diagram, order: dict[str, int]) -> list[str]:
    lines = []
    for arrow in sorted(drawing.arrows, key=lambda a: (order[a.source], order[a.target])):
        line = "-.->" if arrow.how.dotted else "-->"
        label = f'|"{arrow.how.verb}"|' if arrow.how.verb else ""
        lines.append(f"  {arrow.source} {line}{label} {arrow.target}")
    return lines


# --- 5. the document --------------------------------------------------------------------


def document(emission: Emission, others: list[str]) -> str:
    """The Markdown page of one system: what it shows, how to read it, the diagram."""
    system, _, env = emission.folder.partition("/")
    drawing = diagram(emission)
    lines = [
        f"# {system}: architecture",
        "",
        f"Generated by `python build.py graph` from `templates/{emission.folder}/`; do not edit. "
        + _environment_note(env, others),
        "",
        *_reading_notes(drawing),
        "",
        "```mermaid",
        render_mermaid(drawing),
        "```",
        "",
    ]
    return "\n".join(lines)


def _environment_note(env: str, others: list[str]) -> str:
    why = ("the environment that switches on the most" if env == SHOWN_ENVIRONMENT
           else "the environment with the most resources")
    note = f"It shows **{env}**, {why}"
    if others:
        note += f"; {' and '.join(others)} differ in settings and counts"
    return note + "."


def _reading_notes(drawing: Diagram) -> list[str]:
    notes = ["- Boxes are nested stacks; cylinders are data stores."]
    families = [f"`{group}`" for group in drawing.groups if group.endswith(_FAMILY)]
    order = flow_order(drawing)
    counted = [node.label for node in sorted(drawing.nodes.values(), key=lambda n: order[n.id])
               if node.count]
    if families and counted:
        notes.append(
            f"- {', '.join(families)}: shards of one kind of stack, drawn once (the title counts "
            "them); a box in them stands for every resource of its kind in all of them "
            f"(`{counted[0]}`), so the picture keeps its size however many there are."
        )
    notes.append(
        "- Arrows follow requests and data. They are the references between resources in the "
        "templates (`Ref`, `Fn::GetAtt`, `Fn::Sub`, followed through nested-stack parameters "
        "and outputs); *reads*, *writes* and *starts* come from the IAM grants behind them. "
        "Dotted arrows carry access logs."
    )
    left_out = [phrase for kind, phrase in LEFT_OUT.items() if kind in drawing.resource_types]
    if left_out:
        notes.append(f"- Not drawn: {'; '.join(left_out)}.")
    empty = drawing.empty_groups()
    if empty:
        notes.append(f"- Stacks with nothing drawn: {', '.join(empty)}.")
    return notes
