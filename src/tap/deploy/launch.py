"""Console links: the CloudFormation console's quick-create ("launch stack") link for a
root stack, and the console pages where its change sets are reviewed.

A quick-create link opens the console's create page with the template, the stack name
and the parameter values filled in (AWS CloudFormation User Guide, "Create quick-create
links for stacks"; the documented form, which this module builds):

    https://<region>.console.aws.amazon.com/cloudformation/home?region=<region>
        #/stacks/create/review?templateURL=<S3 URL>&stackName=<name>&param_<Key>=<value>...

What a link can carry, and what is done about the rest:

- `templateURL`: a template in S3, in the stack's region, at most 1 MB, its URL at most
  1,024 characters (CloudFormation's limit on TemplateURL); a longer one is refused.
- `stackName`: letters, digits and hyphens, starting with a letter, at most 128
  characters; anything else is refused here rather than by the console.
- `param_<Key>`: CloudFormation ignores NoEcho parameters in a link, so their values are
  never put in it (it would also leak them into browser history); they are left for the
  person to type, and named.
- The whole link: AWS documents no limit, but a link travels through chat, mail and the
  console's sign-in redirect, which carries it inside a URL of its own, encoded a second
  time; `LINK_LIMIT` keeps it well inside what all of them pass. Values that would push
  it over are left out, the longest first, and named for the person to paste.

Every name and value is percent-encoded with nothing kept literal: `+` becomes %2B (in a
query a bare `+` reads as a space), `/` %2F, `=` %3D, `&` %26, a space %20 and a line
break %0A, so a PEM key arrives as it left. The template URL is encoded too, as AWS asks
for S3 URLs in a link.

Pure: no AWS calls. `tap.deploy.commands.urls` uploads the templates and calls this.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tap.deploy.parameters import Value
from tap.errors import UserError
from tap.schemas import IAM_NAME_PROPERTIES

# The console of each partition; the aws partition's has a host per region.
CONSOLE_HOSTS = {
    "aws": "{region}.console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
QUICK_CREATE_ROUTE = "#/stacks/create/review"
TEMPLATE_URL_LIMIT = 1024  # CloudFormation's limit on a TemplateURL
STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
LINK_LIMIT = 2048
MASKED = "****"  # how CloudFormation shows a deployed NoEcho value



@dataclass(frozen=True)
class LeftOut:
    """A parameter value the link does not carry, and why; the person types it in."""

    name: str
    reason: str


@dataclass(frozen=True)
class Link:
    url: str
    template_url: str
    stack_name: str
    region: str
    filled: tuple[str, ...]  # the parameters whose values the link carries
    left_out: tuple[LeftOut, ...]


def console_home(region: str, partition: str = "aws") -> str:
    """The CloudFormation console of `region`."""
    if partition not in CONSOLE_HOSTS:
        raise UserError(f"no AWS console link for partition {partition!r}; known: "
                        f"{', '.join(sorted(CONSOLE_HOSTS))}")
    host = CONSOLE_HOSTS[partition].format(region=region)
    return f"https://{host}/cloudformation/home?region={region}"


def quick_create_link(
    *,
    region: str,
    template_url: str,
    stack_name: str,
    declared: Mapping[str, Mapping[str, Any]],
    values: Sequence[Value],
    deployed: Mapping[str, str] | None = None,
    partition: str = "aws",
    limit: int = LINK_LIMIT,
) -> Link:
    """The quick-create link of a root stack.

    `declared` is the root template's Parameters section; `values` are the values a
    deploy would pass (`tap.deploy.parameters.resolve`), where None means "kept from the
    deployed stack": those are filled from `deployed` (the stack's current values) when
    CloudFormation shows them. Parameters with neither take the template's default."""
    check_stack_name(stack_name)
    if len(template_url) > TEMPLATE_URL_LIMIT:
        raise UserError(f"the template URL is {len(template_url)} characters; CloudFormation takes at "
                        f"most {TEMPLATE_URL_LIMIT}: {template_url}")
    deployed = deployed or {}
    filled: dict[str, str] = {}
    sources: dict[str, str] = {}
    left_out: list[LeftOut] = []
    for value in sorted(values, key=lambda each: each.name):
        if is_no_echo(declared.get(value.name, {})):
            left_out.append(LeftOut(value.name, "NoEcho: CloudFormation never takes it from a link; type "
                                    f"it on the page (the deploy takes it from {value.source})"))
        elif value.value is not None:
            filled[value.name], sources[value.name] = value.value, value.source
        elif deployed.get(value.name, MASKED) != MASKED:
            filled[value.name], sources[value.name] = deployed[value.name], "the deployed stack"
        else:
            left_out.append(LeftOut(value.name, "kept from the deployed stack, which does not show it; "
                                    "type it on the page"))
    fixed = [("templateURL", template_url), ("stackName", stack_name)]
    url = _url(region, partition, fixed, filled)
    while len(url) > limit and filled:
        longest = max(filled, key=lambda name: (len(_pair(f"param_{name}", filled[name])), name))
        size = len(_pair(f"param_{longest}", filled.pop(longest)))
        left_out.append(LeftOut(longest, f"{size:,} characters once encoded would take the link past "
                                f"{limit:,}; paste it on the page (the value is in {sources[longest]})"))
        url = _url(region, partition, fixed, filled)
    return Link(url, template_url, stack_name, region, tuple(filled), tuple(left_out))


def check_stack_name(name: str) -> None:
    if not STACK_NAME.match(name):
        raise UserError(f"stack name {name!r} is not allowed; allowed: letters, digits and hyphens, "
                        "starting with a letter, at most 128 characters")


def is_no_echo(spec: Mapping[str, Any]) -> bool:
    return str(spec.get("NoEcho", "false")).lower() == "true"


def _pair(name: str, value: str) -> str:
    return f"{quote(name, safe='')}={quote(value, safe='')}"


def _url(region: str, partition: str, fixed: list[tuple[str, str]], filled: Mapping[str, str]) -> str:
    pairs = [*fixed, *((f"param_{name}", value) for name, value in filled.items())]
    return f"{console_home(region, partition)}{QUICK_CREATE_ROUTE}?" + "&".join(
        _pair(name, value) for name, value in pairs)


def stack_page(region: str, stack_id: str, partition: str = "aws") -> str:
    """A stack's page in the console: its Change sets tab lists what awaits review."""
    return f"{console_home(region, partition)}#/stacks/stackinfo?stackId={quote(stack_id, safe='')}"


def stacks_page(region: str, stack_name: str, partition: str = "aws") -> str:
    """The console's list of stacks, filtered to one name, nested stacks shown."""
    return (f"{console_home(region, partition)}#/stacks?filteringText={quote(stack_name, safe='')}"
            "&filteringStatus=active&viewNested=true")


def required_capabilities(templates: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """The capabilities the console asks a person to acknowledge for a tree of templates:
    IAM resources (named ones need CAPABILITY_NAMED_IAM) and nested stacks
    (CAPABILITY_AUTO_EXPAND)."""
    iam = named = nested = False
    for template in templates:
        for resource in template.get("Resources", {}).values():
            kind = resource.get("Type", "")
            iam = iam or kind.startswith("AWS::IAM::")
            named = named or IAM_NAME_PROPERTIES.get(kind, "") in resource.get("Properties", {})
            nested = nested or kind == "AWS::CloudFormation::Stack"
    found = ["CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM"] if iam else []
    return tuple(found + (["CAPABILITY_AUTO_EXPAND"] if nested else []))
