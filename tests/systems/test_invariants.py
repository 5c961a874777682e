"""Rules every emitted template obeys, checked over the real build of every system."""

from __future__ import annotations

import re

import pytest

from tap.blocks.lifecycle import is_stateful, keeps_data
from tests.helpers import as_list, text


def test_every_stateful_resource_is_retained_or_snapshotted(built):
    offenders = [
        f"{name}:{logical_id}"
        for name, template in built.all_templates()
        for logical_id, resource in template.get("Resources", {}).items()
        if is_stateful(resource["Type"]) and not (
            keeps_data(resource.get("DeletionPolicy")) and keeps_data(resource.get("UpdateReplacePolicy"))
        )
    ]
    assert offenders == []


@pytest.mark.parametrize("pattern,what", [
    (r"arn:aws[a-z-]*:", "a hard-coded ARN partition"),
    # Bounded by non-word characters: a sha256 in a TemplateURL may hold 12 digits in a row.
    (r"(?<![\w.])\d{12}(?![\w.])", "an account id"),
    (r'"(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d"', "a region"),
    (r"tap-assets-(?!<account>)", "the artefact bucket's literal name"),
])
def test_no_template_names_a_partition_account_region_or_bucket(built, pattern, what):
    offenders = []
    for name, template in built.all_templates():
        body = text(template).replace("tap-assets-${Account}-${AWS::Region}", "")
        if not name.startswith("bootstrap/") and re.search(pattern, body):
            offenders.append(name)
    assert offenders == [], f"{what} in {offenders}"


def test_no_policy_allows_every_action(built):
    offenders = []
    for name, template in built.all_templates():
        for logical_id, resource in template.get("Resources", {}).items():
            for statement in _statements(resource):
                if statement.get("Effect") == "Allow" and "*" in as_list(statement.get("Action", [])):
                    offenders.append(f"{name}:{logical_id}")
    assert offenders == []


# Statements whose APIs have no resource-level permissions, so "*" is the only valid
# Resource: X-Ray writes, the StackSet execution role, ecr:GetAuthorizationToken,
# ecs:RegisterTaskDefinition/DescribeTaskDefinition and ecs:ListTasks (scoped by the
# ecs:cluster condition instead), and the deploy tool's ec2:DescribeManagedPrefixLists and
# iam:ListOpenIDConnectProviders (the bootstrap's GitHub roles).
STAR_RESOURCE_SIDS = {
    "WriteTraces", "ManageTapResourceTypes", "AuthorizeEcr", "ManageTaskDefinitions",
    "ListClusterTasks", "LookUpPrefixLists", "ListOidcProviders",
}


def test_only_apis_without_resource_permissions_use_a_star_resource(built):
    offenders = []
    for name, template in built.all_templates():
        for logical_id, resource in template.get("Resources", {}).items():
            for statement in _statements(resource):
                if statement.get("Effect") == "Allow" and "*" in as_list(statement.get("Resource", [])):
                    if statement.get("Sid") not in STAR_RESOURCE_SIDS:
                        offenders.append(f"{name}:{logical_id}:{statement.get('Sid')}")
    assert offenders == []


def test_every_log_group_has_a_retention(built):
    offenders = [
        f"{name}:{logical_id}"
        for name, template in built.all_templates()
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == "AWS::Logs::LogGroup" and "RetentionInDays" not in resource["Properties"]
    ]
    assert offenders == []


def test_every_bucket_blocks_public_access_and_is_encrypted(built):
    offenders = []
    for name, template in built.all_templates():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] != "AWS::S3::Bucket":
                continue
            props = resource["Properties"]
            flags = props.get("PublicAccessBlockConfiguration", {})
            if not (len(flags) == 4 and all(flags.values()) and "BucketEncryption" in props):
                offenders.append(f"{name}:{logical_id}")
    assert offenders == []


def test_every_bucket_has_a_tls_only_policy(built):
    """Per folder: a bucket's policy may live in another nested stack (wired by parameters)."""
    for folder in built.targets:
        buckets, guarded = set(), set()
        for stack, template in built.stacks(folder).items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == "AWS::S3::Bucket":
                    buckets.add((stack, logical_id))
                if resource["Type"] != "AWS::S3::BucketPolicy":
                    continue
                document = resource["Properties"]["PolicyDocument"]
                variants = document["Fn::If"][1:] if "Fn::If" in document else [document]
                if all(any(s.get("Sid") == "DenyInsecureTransport" for s in v["Statement"])
                       for v in variants):
                    owner, bucket = built.resolve(folder, stack, resource["Properties"]["Bucket"])
                    guarded.add((owner, bucket["Ref"]))
        assert buckets <= guarded, f"{folder}: {sorted(buckets - guarded)} lack a TLS-only policy"


def test_no_template_uses_exports(built):
    for name, template in built.all_templates():
        assert "Fn::ImportValue" not in text(template), name
        assert all("Export" not in output for output in template.get("Outputs", {}).values()), name


def _statements(resource: dict) -> list[dict]:
    props = resource.get("Properties", {})
    documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
    if "PolicyDocument" in props:
        documents.append(props["PolicyDocument"])
    statements = []
    for document in documents:
        variants = document["Fn::If"][1:] if "Fn::If" in document else [document]
        for variant in variants:
            statements.extend(variant["Statement"])
    return statements
