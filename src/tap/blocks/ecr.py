"""ECR repositories for one service's images.

Every repository made here has immutable tags (a tag, such as a commit
SHA, always names the same image), scan on push, AES-256 encryption at
rest, a lifecycle policy that drops untagged images after a week and keeps
only the most recent `keep_images`, and DeletionPolicy/UpdateReplacePolicy
Retain (images survive the removal of a service). CloudFormation names it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from troposphere import GetAtt, Ref, ecr

from tap.blocks.iam import RepositoryRef
from tap.blocks.lifecycle import retain, suppress
from tap.stacktree import Stack


@dataclass(frozen=True)
class Repository:
    resource: ecr.Repository

    @property
    def ref(self) -> RepositoryRef:
        return RepositoryRef(
            label=self.resource.title, name=Ref(self.resource), arn=GetAtt(self.resource, "Arn")
        )

    @property
    def uri(self) -> GetAtt:
        return GetAtt(self.resource, "RepositoryUri")


def lifecycle_policy(keep_images: int) -> str:
    """Expire untagged images after 7 days; keep only the `keep_images` most recent images."""
    rules = [
        {
            "rulePriority": 1,
            "description": "Drop untagged images (failed or superseded pushes) after 7 days",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                          "countUnit": "days", "countNumber": 7},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the {keep_images} most recent images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                          "countNumber": keep_images},
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, sort_keys=True)


def container_repository(stack: Stack, logical_id: str, *, keep_images: int) -> Repository:
    repository = ecr.Repository(
        logical_id,
        ImageTagMutability="IMMUTABLE",
        ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=True),
        EncryptionConfiguration=ecr.EncryptionConfiguration(EncryptionType="AES256"),
        LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=lifecycle_policy(keep_images)),
    )
    suppress(
        repository,
        CKV_AWS_136="Encrypted at rest with AES-256 by ECR; images hold no data that needs a "
        "customer-managed key, and pulls then need no key grants.",
    )
    retain(repository)
    return Repository(stack.add(repository))
