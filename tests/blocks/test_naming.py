"""unique_name: names unique per stack creation and stable across updates, within AWS limits."""

from __future__ import annotations

import re

import pytest

from tap.blocks.cloudfront import (
    origin_access_control,
    viewer_function,
    waf_log_group_name,
)
from tap.blocks.naming import unique_name
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource

# The AWS::StackId example in the CloudFormation pseudo-parameter reference.
STACK_ID = "arn:aws:cloudformation:us-west-2:123456789012:stack/teststack/51af3dc0-da77-11e4-872e-1234567db123"


def evaluate(value, stack_id: str = STACK_ID):
    """Evaluate the intrinsics unique_name uses (Ref AWS::StackId, Split, Select, Sub)."""
    if isinstance(value, dict):
        ((function, argument),) = value.items()
        if function == "Ref":
            assert argument == "AWS::StackId"
            return stack_id
        if function == "Fn::Split":
            separator, source = argument
            return evaluate(source, stack_id).split(separator)
        if function == "Fn::Select":
            index, source = argument
            return evaluate(source, stack_id)[index]
        if function == "Fn::Sub":
            text, variables = argument
            return re.sub(r"\$\{(\w+)\}", lambda m: evaluate(variables[m.group(1)], stack_id), text)
        raise AssertionError(f"unexpected intrinsic {function}")
    return value


def test_name_is_prefix_and_the_uuid_of_the_stack_id():
    assert evaluate(unique_name("oac").to_dict()) == "oac-51af3dc0-da77-11e4-872e-1234567db123"


def test_uses_no_pseudo_parameter_that_changes_between_updates():
    """Only AWS::StackId (fixed at creation) feeds the name, so an update never renames."""
    rendered = str(unique_name("x").to_dict())
    assert re.findall(r"AWS::\w+", rendered) == ["AWS::StackId"]


def test_two_stacks_get_two_names():
    other = STACK_ID.replace("51af3dc0", "0000aaaa")
    name = unique_name("oac").to_dict()
    assert evaluate(name) != evaluate(name, other)


def test_name_is_37_characters_plus_the_prefix():
    for prefix in ("a", "signing-keys", "aws-waf-logs-edge"):
        assert len(evaluate(unique_name(prefix).to_dict())) == len(prefix) + 37


def test_origin_access_control_name_fits_cloudfronts_64_characters():
    stack = Stack("cdn", "n")
    origin_access_control(stack, "Oac")
    config = only_resource(as_dict(stack), "AWS::CloudFront::OriginAccessControl")
    name = evaluate(config["Properties"]["OriginAccessControlConfig"]["Name"])
    assert len(name) <= 64


@pytest.mark.parametrize("logical_id", ["Rewrite", "AVeryLongViewerRequestFunctionLogicalId"])
def test_cloudfront_function_names_fit_64_characters_of_the_allowed_set(logical_id):
    """CloudFront: function names match [a-zA-Z0-9-_]{1,64}; the block cuts the prefix at 20."""
    stack = Stack("cdn", "n")
    viewer_function(stack, logical_id, "function handler(e) { return e.request; }", "c")
    function = only_resource(as_dict(stack), "AWS::CloudFront::Function")
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", evaluate(function["Properties"]["Name"]))


def test_waf_log_group_name_starts_as_waf_requires():
    assert evaluate(waf_log_group_name().to_dict()).startswith("aws-waf-logs-")
