"""E9001: every stateful resource keeps its data when deleted or replaced."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.blocks.lifecycle import is_stateful, keeps_data  # noqa: E402
from tap.lintrules._policies import resources  # noqa: E402


class StatefulResourcesKeepData(CloudFormationLintRule):
    id = "E9001"
    shortdesc = "Stateful resources are retained or snapshotted"
    description = (
        "Buckets, tables, databases, caches, repositories, secrets and edge versions set "
        "DeletionPolicy and UpdateReplacePolicy to Retain or Snapshot, so neither deleting "
        "the stack nor a replacement loses data (tap.blocks.lifecycle lists the types)."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"
    tags = ["tap", "resources", "lifecycle"]

    def match(self, cfn):
        matches = []
        for logical_id, resource, path in resources(cfn.template):
            if not is_stateful(resource.get("Type", "")):
                continue
            for attribute in ("DeletionPolicy", "UpdateReplacePolicy"):
                if not keeps_data(resource.get(attribute)):
                    matches.append(RuleMatch(
                        path, f"{logical_id} ({resource['Type']}) must set {attribute} to Retain or Snapshot",
                    ))
        return matches
