"""Typed wiring: a parameter or output name is derived from one field, and a wire that is
missing, doubled, empty or misspelt fails the build."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from troposphere import GetAtt, Ref, sns

from tap.cfnvalue import CfnValue
from tap.stacktree import Stack
from tap.wiring import declare, parameter_name, prefixed, publish, wire
from tests.helpers import as_dict


@dataclass(frozen=True)
class TopicInputs:
    display_name: CfnValue = wire("What the topic shows.")
    kms_key_id: CfnValue = wire("Key of the topic.", AllowedPattern="^alias/.+$", Default="alias/aws/sns")


@dataclass(frozen=True)
class TopicOutputs:
    topic_arn: CfnValue = wire("The topic of {what}.")
    topic_name: CfnValue = wire("Its name.")


def topic_stack(read_key: bool = True, name: str = "topic") -> Stack:
    stack = Stack(name, "a topic")
    inputs = declare(stack, TopicInputs)
    topic = stack.add(sns.Topic("Topic", DisplayName=inputs.display_name))
    if read_key:
        topic.KmsMasterKeyId = inputs.kms_key_id
    publish(stack, TopicOutputs(topic_arn=Ref(topic), topic_name=GetAtt(topic, "TopicName")), what="alerts")
    return stack


def parameters_of(parent: Stack, logical_id: str) -> dict:
    return as_dict(parent)["Resources"][logical_id]["Properties"].get("Parameters", {})


def test_a_parameter_is_named_after_its_field_and_carries_its_doc_and_constraints():
    declared = as_dict(topic_stack())["Parameters"]
    assert declared["KmsKeyId"] == {
        "Type": "String", "Description": "Key of the topic.",
        "AllowedPattern": "^alias/.+$", "Default": "alias/aws/sns",
    }
    assert declared["DisplayName"] == {"Type": "String", "Description": "What the topic shows."}


def test_a_stack_declares_only_the_fields_it_reads():
    assert set(as_dict(topic_stack(read_key=False))["Parameters"]) == {"DisplayName"}


def test_the_parent_passes_each_declared_parameter_from_the_inputs_object():
    root = Stack.root("root", "r")
    root.nest(topic_stack(read_key=False), TopicInputs(display_name="ops", kms_key_id="alias/x"))
    assert parameters_of(root, "TopicStack") == {"DisplayName": "ops"}


def test_outputs_are_published_under_their_field_names_and_read_as_get_att():
    root = Stack.root("root", "r")
    outputs = root.nest(topic_stack(), TopicInputs("ops", "alias/x")).outputs(TopicOutputs)
    root.output("Arn", outputs.topic_arn, "the arn")
    child_outputs = as_dict(root.children[0].stack)["Outputs"]
    assert child_outputs["TopicArn"]["Description"] == "The topic of alerts."
    assert child_outputs["TopicName"]["Description"] == "alerts: Its name."  # no {what}: it leads
    assert as_dict(root)["Outputs"]["Arn"]["Value"] == {"Fn::GetAtt": ["TopicStack", "Outputs.TopicArn"]}


def test_a_misspelt_field_is_an_attribute_error_on_both_ends():
    stack = Stack("topic", "t")
    with pytest.raises(AttributeError):
        declare(stack, TopicInputs).display_nam  # noqa: B018 - the read is the test
    root = Stack.root("root", "r")
    nested = root.nest(topic_stack(), TopicInputs("ops", "alias/x"))
    with pytest.raises(AttributeError):
        nested.outputs(TopicOutputs).topic_ar  # noqa: B018


def test_reading_an_output_the_child_did_not_publish_fails():
    @dataclass(frozen=True)
    class MoreOutputs:
        topic_owner: CfnValue = wire("Not published.")

    root = Stack.root("root", "r")
    nested = root.nest(topic_stack(), TopicInputs("ops", "alias/x"))
    with pytest.raises(KeyError, match="has no output 'TopicOwner'"):
        nested.outputs(MoreOutputs).topic_owner  # noqa: B018


def test_a_declared_parameter_nobody_passes_fails_the_build():
    root = Stack.root("root", "r")
    root.nest(topic_stack(read_key=False))
    with pytest.raises(ValueError, match=r"missing \['DisplayName'\]"):
        root.body


def test_a_parameter_given_by_two_inputs_fails_the_build():
    root = Stack.root("root", "r")
    root.nest(topic_stack(read_key=False), TopicInputs("a", "k"), {"DisplayName": "b"})
    with pytest.raises(ValueError, match=r"given twice \['DisplayName'\]"):
        root.body


def test_a_declared_parameter_given_no_value_fails_the_build():
    root = Stack.root("root", "r")
    root.nest(topic_stack(read_key=False), TopicInputs(display_name=None, kms_key_id="k"))
    with pytest.raises(ValueError, match=r"without a value \['DisplayName'\]"):
        root.body


def test_prefixed_inputs_reach_the_parameters_declared_under_that_prefix():
    child = Stack("many", "m")
    for name in ("orders", "billing"):
        prefix = name.capitalize()
        child.add(sns.Topic(f"{prefix}Topic", DisplayName=declare(child, TopicInputs, prefix, name).display_name))
    root = Stack.root("root", "r")
    root.nest(child, prefixed(TopicInputs("o", "k"), "Orders"), prefixed(TopicInputs("b", "k"), "Billing"))
    assert parameters_of(root, "ManyStack") == {"OrdersDisplayName": "o", "BillingDisplayName": "b"}
    declared = as_dict(child)["Parameters"]
    assert declared["OrdersDisplayName"]["Description"] == "orders: What the topic shows."


def test_publish_leaves_out_what_was_not_made_and_applies_a_condition():
    stack = Stack.root("root", "r")
    stack.template.add_condition("Wanted", {"Fn::Equals": ["a", "a"]})
    stack.add(sns.Topic("Topic"))
    publish(stack, TopicOutputs(topic_arn=Ref("Topic"), topic_name=None), condition="Wanted")
    outputs = as_dict(stack)["Outputs"]
    assert set(outputs) == {"TopicArn"} and outputs["TopicArn"]["Condition"] == "Wanted"


def test_names_keep_the_spelling_of_github():
    assert parameter_name("github_deploy_role_arn") == "GitHubDeployRoleArn"
    assert parameter_name("deploy_role_arn", "Orders") == "OrdersDeployRoleArn"
