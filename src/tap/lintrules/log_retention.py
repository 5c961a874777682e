"""E9012: every log group expires its events."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import properties, resources  # noqa: E402


class LogGroupRetention(CloudFormationLintRule):
    id = "E9012"
    shortdesc = "Log groups set RetentionInDays"
    description = "A log group without RetentionInDays keeps (and bills) every event forever."
    source_url = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html#SettingLogRetention"
    tags = ["tap", "logs"]

    def match(self, cfn):
        return [
            RuleMatch(path, f"{logical_id} must set RetentionInDays")
            for logical_id, resource, path in resources(cfn.template, "AWS::Logs::LogGroup")
            if "RetentionInDays" not in properties(resource)
        ]
