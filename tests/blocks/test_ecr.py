"""container_repository: immutable, scanned, encrypted, pruned and retained image repositories."""

from __future__ import annotations

import json

import pytest

from tap.blocks.ecr import container_repository, lifecycle_policy
from tap.blocks.lifecycle import is_stateful, keeps_data
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource


@pytest.fixture
def repository() -> dict:
    stack = Stack("images", "ecr")
    container_repository(stack, "ApiRepository", keep_images=25)
    return only_resource(as_dict(stack), "AWS::ECR::Repository")


def rules(repository: dict) -> list[dict]:
    text = repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    return json.loads(text)["rules"]


def test_tags_are_immutable_so_a_tag_always_names_the_same_image(repository):
    assert repository["Properties"]["ImageTagMutability"] == "IMMUTABLE"


def test_every_pushed_image_is_scanned(repository):
    assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}


def test_images_are_encrypted_at_rest_and_the_scanner_skip_says_why(repository):
    assert repository["Properties"]["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    (skip,) = repository["Metadata"]["checkov"]["skip"]
    assert skip["id"] == "CKV_AWS_136" and skip["comment"].strip()


def test_repository_is_retained_on_delete_and_replace(repository):
    assert (repository["DeletionPolicy"], repository["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert is_stateful("AWS::ECR::Repository") and keeps_data(repository["DeletionPolicy"])


def test_cloudformation_names_the_repository(repository):
    assert "RepositoryName" not in repository["Properties"]


def test_untagged_images_expire_after_a_week(repository):
    first = rules(repository)[0]
    assert first["selection"] == {
        "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7,
    }
    assert first["action"] == {"type": "expire"}


def test_only_the_given_number_of_most_recent_images_is_kept(repository):
    last = rules(repository)[-1]
    assert last["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 25}
    assert last["action"] == {"type": "expire"}


def test_the_any_rule_has_the_highest_priority_as_ecr_requires(repository):
    """ECR: a rule with tagStatus `any` must have the highest rulePriority; priorities are unique."""
    found = rules(repository)
    priorities = [rule["rulePriority"] for rule in found]
    assert len(set(priorities)) == len(priorities)
    (any_rule,) = [rule for rule in found if rule["selection"]["tagStatus"] == "any"]
    assert any_rule["rulePriority"] == max(priorities)


def test_lifecycle_policy_text_is_deterministic_json():
    assert lifecycle_policy(3) == lifecycle_policy(3)
    assert json.loads(lifecycle_policy(3))["rules"][1]["selection"]["countNumber"] == 3
    assert lifecycle_policy(3) == json.dumps(json.loads(lifecycle_policy(3)), sort_keys=True)


def test_handles_name_the_repository_its_arn_and_uri():
    stack = Stack("images", "ecr")
    repository = container_repository(stack, "ApiRepository", keep_images=5)
    ref = repository.ref
    assert ref.label == "ApiRepository"
    assert ref.name.to_dict() == {"Ref": "ApiRepository"}
    assert ref.arn.to_dict() == {"Fn::GetAtt": ["ApiRepository", "Arn"]}
    assert repository.uri.to_dict() == {"Fn::GetAtt": ["ApiRepository", "RepositoryUri"]}
