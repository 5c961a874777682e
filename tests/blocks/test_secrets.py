"""generated_secret and resolve: values Secrets Manager generates and the template never holds."""

from __future__ import annotations

import pytest

from tap.blocks.lifecycle import is_stateful, keeps_data
from tap.blocks.secrets import generated_secret, resolve
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource


@pytest.fixture
def stack() -> Stack:
    return Stack("secrets", "s")


def secret_of(stack: Stack) -> dict:
    return only_resource(as_dict(stack), "AWS::SecretsManager::Secret")


def test_value_is_generated_so_the_template_holds_none(stack):
    generated_secret(stack, "ApiKey", "key of the API")
    props = secret_of(stack)["Properties"]
    assert "SecretString" not in props
    assert props["GenerateSecretString"] == {"PasswordLength": 32, "ExcludePunctuation": True}
    assert props["Description"] == "key of the API"


def test_length_can_be_chosen(stack):
    generated_secret(stack, "ApiKey", "d", length=64)
    assert secret_of(stack)["Properties"]["GenerateSecretString"]["PasswordLength"] == 64


def test_json_key_makes_the_value_a_one_key_json_document(stack):
    generated_secret(stack, "Token", "d", json_key="token")
    generate = secret_of(stack)["Properties"]["GenerateSecretString"]
    assert (generate["SecretStringTemplate"], generate["GenerateStringKey"]) == ("{}", "token")


def test_without_json_key_there_is_no_template(stack):
    generated_secret(stack, "ApiKey", "d")
    generate = secret_of(stack)["Properties"]["GenerateSecretString"]
    assert "SecretStringTemplate" not in generate and "GenerateStringKey" not in generate


def test_secret_is_retained_on_delete_and_replace(stack):
    generated_secret(stack, "ApiKey", "d")
    secret = secret_of(stack)
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert is_stateful("AWS::SecretsManager::Secret") and keeps_data(secret["DeletionPolicy"])


def test_encrypted_with_the_account_key_and_the_scanner_skip_says_why(stack):
    generated_secret(stack, "ApiKey", "d")
    secret = secret_of(stack)
    assert "KmsKeyId" not in secret["Properties"]  # Secrets Manager then uses aws/secretsmanager
    (skip,) = secret["Metadata"]["checkov"]["skip"]
    assert skip["id"] == "CKV_AWS_149" and skip["comment"].strip()


def test_cloudformation_names_the_secret(stack):
    generated_secret(stack, "ApiKey", "d")
    assert "Name" not in secret_of(stack)["Properties"]


def test_handle_is_the_secret_arn(stack):
    ref = generated_secret(stack, "ApiKey", "d")
    assert ref.label == "ApiKey"
    assert ref.arn.to_dict() == {"Ref": "ApiKey"}  # Ref of a secret is its ARN


def test_resolve_is_a_dynamic_reference_to_one_json_key(stack):
    ref = generated_secret(stack, "Token", "d", json_key="token")
    assert resolve(ref, "token").to_dict() == {
        "Fn::Sub": ["{{resolve:secretsmanager:${Secret}:SecretString:token}}", {"Secret": {"Ref": "Token"}}]
    }
