"""lifecycle: keeping stateful resources, scanner suppressions with reasons, and the fate of a change."""

from __future__ import annotations

import pytest
from troposphere import sns, sqs

from tap.blocks.lifecycle import (
    KEEPING_POLICIES,
    fate_of,
    is_stateful,
    keeps_data,
    retain,
    snapshot,
    suppress,
)
from tap.stacktree import Stack
from tests.helpers import as_dict


def emitted(resource) -> dict:
    stack = Stack("lifecycle", "l")
    stack.add(resource)
    return as_dict(stack)["Resources"][resource.title]


def test_retain_keeps_the_resource_on_delete_and_on_replace():
    queue = emitted(retain(sqs.Queue("Jobs")))
    assert (queue["DeletionPolicy"], queue["UpdateReplacePolicy"]) == ("Retain", "Retain")


def test_snapshot_keeps_a_final_snapshot_on_delete_and_on_replace():
    queue = emitted(snapshot(sqs.Queue("Jobs")))
    assert (queue["DeletionPolicy"], queue["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")


def test_retain_and_snapshot_return_the_resource_they_change():
    queue = sqs.Queue("Jobs")
    assert retain(queue) is queue and snapshot(queue) is queue


def test_policies_that_keep_data_are_the_three_cloudformation_documents():
    """DeletionPolicy values: Delete, Retain, RetainExceptOnCreate, Snapshot; all but Delete keep."""
    assert KEEPING_POLICIES == {"Retain", "Snapshot", "RetainExceptOnCreate"}
    assert not keeps_data("Delete") and not keeps_data(None)


@pytest.mark.parametrize("resource_type", [
    "AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::RDS::DBInstance", "AWS::ECR::Repository",
    "AWS::ElastiCache::ReplicationGroup", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup",
    "AWS::Lambda::Version",
])
def test_the_stateful_types_the_blocks_make_are_known(resource_type):
    assert is_stateful(resource_type)


@pytest.mark.parametrize("resource_type", ["AWS::IAM::Role", "AWS::SNS::Topic", "AWS::ECS::Service"])
def test_stateless_types_are_not_stateful(resource_type):
    assert not is_stateful(resource_type)


def test_suppress_records_each_check_with_its_reason_sorted_by_id():
    topic = suppress(sns.Topic("Alarms"), CKV_AWS_26="not encrypted: alarms only", CKV_AWS_1="why")
    assert emitted(topic)["Metadata"] == {"checkov": {"skip": [
        {"id": "CKV_AWS_1", "comment": "why"},
        {"id": "CKV_AWS_26", "comment": "not encrypted: alarms only"},
    ]}}


@pytest.mark.parametrize("reason", ["", "   "])
def test_suppress_refuses_a_check_without_a_reason(reason):
    with pytest.raises(ValueError, match="suppressing CKV_AWS_26 needs a reason"):
        suppress(sns.Topic("Alarms"), CKV_AWS_26=reason)


def test_suppress_adds_to_earlier_skips_and_other_metadata_and_keeps_the_first_reason():
    topic = sns.Topic("Alarms", Metadata={"owner": "team"})
    suppress(topic, CKV_AWS_26="first")
    suppress(topic, CKV_AWS_26="second", CKV_AWS_1="other")
    metadata = emitted(topic)["Metadata"]
    assert metadata["owner"] == "team"
    assert metadata["checkov"]["skip"] == [
        {"id": "CKV_AWS_1", "comment": "other"}, {"id": "CKV_AWS_26", "comment": "first"},
    ]


def test_nothing_stateful_is_at_stake_for_a_stateless_type():
    assert fate_of("AWS::IAM::Role", "Remove") is None
    assert fate_of("AWS::IAM::Role", "Modify", replacement="True") is None


def test_adding_or_modifying_in_place_loses_nothing():
    assert fate_of("AWS::S3::Bucket", "Add") is None
    assert fate_of("AWS::S3::Bucket", "Modify", replacement="False") is None


@pytest.mark.parametrize("replacement, certainty", [("True", "would be replaced"),
                                                    ("Conditional", "may be replaced")])
def test_a_replacement_loses_the_data_even_when_only_conditional(replacement, certainty):
    """The stack moves to a new, empty resource whatever the policy does to the old one."""
    fate = fate_of("AWS::RDS::DBInstance", "Modify", replacement, "Snapshot", "Snapshot")
    assert fate.lost and fate.summary.startswith(certainty)
    assert "after a final snapshot" in fate.summary


@pytest.mark.parametrize("policy, old", [
    ("Retain", "the old one stays in the account"),
    (None, "the old one is deleted with its data"),
    ("Delete", "the old one is deleted with its data"),
])
def test_a_replacement_says_what_becomes_of_the_old_resource(policy, old):
    fate = fate_of("AWS::S3::Bucket", "Modify", "True", update_replace_policy=policy)
    assert fate.lost and old in fate.summary


@pytest.mark.parametrize("policy", ["Retain", "RetainExceptOnCreate", "Snapshot"])
def test_removing_a_resource_a_policy_keeps_loses_nothing(policy):
    fate = fate_of("AWS::DynamoDB::Table", "Remove", deletion_policy=policy)
    assert fate is not None and not fate.lost


@pytest.mark.parametrize("policy", [None, "Delete"])
def test_removing_a_resource_without_a_keeping_policy_loses_it(policy):
    fate = fate_of("AWS::DynamoDB::Table", "Remove", deletion_policy=policy)
    assert fate.lost and "deleted with its data" in fate.summary
