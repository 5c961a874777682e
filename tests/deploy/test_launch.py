"""Console launch links, built without AWS: what the link carries, how it is encoded, and
what it leaves for the person to type."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tap.deploy.launch import (
    LINK_LIMIT,
    console_home,
    quick_create_link,
    required_capabilities,
    stack_page,
)
from tap.deploy.parameters import Value
from tap.errors import UserError

TEMPLATE_URL = "https://tap-assets-123456789012-eu-west-1.s3.eu-west-1.amazonaws.com/templates/root-ab12.json"
PEM = ("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtLdlfQ0pph/sN763HxrB\n"
       "pc0otu0H4reALHZqKfrnsbQA86UJJ9VDkjux9UJJe8EEQ27XjqMyFKL9xayTrvpe+/==\n-----END PUBLIC KEY-----\n")
DECLARED = {
    "SigningPublicKey": {"Type": "String"},
    "AlarmEmail": {"Type": "String"},
    "ArtifactBucket": {"Type": "String", "Default": ""},
    "DatabasePassword": {"Type": "String", "NoEcho": "true"},
}


def decoded(url: str) -> tuple[str, str, dict[str, str]]:
    """(console host, region, query of the fragment) as the console reads them."""
    parts = urlsplit(url)
    route, _, query = parts.fragment.partition("?")
    assert route == "/stacks/create/review"
    fields = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in fields.values())
    return parts.netloc, parse_qs(parts.query)["region"][0], {key: values[0] for key, values in fields.items()}


def link(values, **given):
    return quick_create_link(region="eu-west-1", template_url=TEMPLATE_URL, stack_name="tap-distribution-dev",
                             declared=DECLARED, values=values, **given)


def test_the_link_decodes_back_to_the_template_the_name_and_every_value():
    made = link([Value("SigningPublicKey", PEM, "--parameter"),
                 Value("AlarmEmail", "ops@example.com", "config/distribution/dev.toml")])
    host, region, fields = decoded(made.url)
    assert (host, region) == ("eu-west-1.console.aws.amazon.com", "eu-west-1")
    assert fields == {"templateURL": TEMPLATE_URL, "stackName": "tap-distribution-dev",
                      "param_SigningPublicKey": PEM, "param_AlarmEmail": "ops@example.com"}
    assert made.filled == ("AlarmEmail", "SigningPublicKey") and made.left_out == ()


def test_plus_slash_equals_spaces_and_line_breaks_are_percent_encoded():
    query = link([Value("SigningPublicKey", PEM, "file")]).url.split("#", 1)[1]
    value = query.split("param_SigningPublicKey=", 1)[1]
    assert value.startswith("-----BEGIN%20PUBLIC%20KEY-----%0AMIIB")
    assert "%2B%2F%3D%3D%0A-----END" in value  # "+/==\n": a bare + would read as a space
    assert not set(value) & set("+/= \n&")
    assert "templateURL=https%3A%2F%2Ftap-assets" in query


def test_a_parameter_left_at_its_default_is_not_in_the_link():
    _, _, fields = decoded(link([Value("SigningPublicKey", "k", "file")]).url)
    assert "param_ArtifactBucket" not in fields


def test_a_no_echo_value_never_enters_the_link_and_is_named():
    made = link([Value("DatabasePassword", "s3cr3t+/", "--parameter")])
    assert "s3cr3t" not in made.url and "DatabasePassword" not in made.url
    (left,) = made.left_out
    assert left.name == "DatabasePassword" and left.reason.startswith("NoEcho: CloudFormation never takes it")


def test_a_value_that_would_make_the_link_too_long_is_left_for_the_person():
    long_key = "-----BEGIN PUBLIC KEY-----\n" + "A" * 3000 + "\n-----END PUBLIC KEY-----\n"
    made = link([Value("SigningPublicKey", long_key, "config/distribution/dev.parameters.json"),
                 Value("AlarmEmail", "ops@example.com", "config/distribution/dev.toml")])
    assert len(made.url) <= LINK_LIMIT
    _, _, fields = decoded(made.url)
    assert fields["param_AlarmEmail"] == "ops@example.com" and "param_SigningPublicKey" not in fields
    (left,) = made.left_out
    assert left.name == "SigningPublicKey"
    assert "would take the link past 2,048; paste it on the page" in left.reason
    assert "config/distribution/dev.parameters.json" in left.reason


def test_a_2048_bit_pem_key_fits():
    assert link([Value("SigningPublicKey", PEM * 4, "file")]).left_out == ()


def test_a_value_kept_from_the_deployed_stack_is_filled_from_it_unless_masked():
    kept = [Value("SigningPublicKey", None, "kept from the deployed stack"),
            Value("AlarmEmail", None, "kept from the deployed stack")]
    made = link(kept, deployed={"SigningPublicKey": PEM, "AlarmEmail": "****"})
    assert decoded(made.url)[2]["param_SigningPublicKey"] == PEM
    assert [left.name for left in made.left_out] == ["AlarmEmail"]


def test_other_partitions_have_their_own_console():
    assert console_home("cn-north-1", "aws-cn") == "https://console.amazonaws.cn/cloudformation/home?region=cn-north-1"
    with pytest.raises(UserError, match="no AWS console link for partition 'aws-iso'"):
        console_home("us-iso-east-1", "aws-iso")


@pytest.mark.parametrize("name", ["1tap", "tap_dev", "tap dev", "t" * 129])
def test_a_stack_name_the_console_refuses_is_refused_here(name):
    with pytest.raises(UserError, match="letters, digits and hyphens, starting with a letter"):
        quick_create_link(region="us-east-1", template_url=TEMPLATE_URL, stack_name=name, declared={}, values=[])


def test_a_template_url_over_cloudformations_limit_is_refused():
    with pytest.raises(UserError, match="CloudFormation takes at most 1024"):
        quick_create_link(region="us-east-1", template_url=TEMPLATE_URL + "x" * 1000, stack_name="a",
                          declared={}, values=[])


def test_the_stack_page_link_encodes_the_stack_id():
    page = stack_page("us-east-1", "arn:aws:cloudformation:us-east-1:123456789012:stack/tap-bootstrap/1f9")
    assert page.endswith("#/stacks/stackinfo?stackId=arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012"
                         "%3Astack%2Ftap-bootstrap%2F1f9")


def test_capabilities_follow_iam_names_and_nesting():
    role = {"Type": "AWS::IAM::Role", "Properties": {}}
    named = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}
    nested = {"Type": "AWS::CloudFormation::Stack", "Properties": {}}
    assert required_capabilities([{"Resources": {"A": role}}]) == ("CAPABILITY_IAM",)
    assert required_capabilities([{"Resources": {"A": nested}}, {"Resources": {"B": named}}]) == (
        "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
    assert required_capabilities([{"Resources": {}}]) == ()
