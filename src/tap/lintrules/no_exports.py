"""E9002: stacks are wired by nested-stack parameters and outputs, never exports."""

import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))


def _imports(value, path):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Fn::ImportValue":
                yield [*path, key]
            yield from _imports(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _imports(item, [*path, index])


class NoExports(CloudFormationLintRule):
    id = "E9002"
    shortdesc = "No Export or Fn::ImportValue"
    description = (
        "An export locks the exporting stack: its value cannot change while another stack "
        "imports it. Wire stacks through nested-stack parameters and Fn::GetAtt Child.Outputs."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-exports.html"
    tags = ["tap", "outputs"]

    def match(self, cfn):
        matches = [
            RuleMatch(["Outputs", name, "Export"], f"output {name} must not be exported")
            for name, output in (cfn.template.get("Outputs") or {}).items()
            if isinstance(output, dict) and "Export" in output
        ]
        for section in ("Resources", "Outputs", "Conditions"):
            matches += [
                RuleMatch(path, "Fn::ImportValue couples stacks; pass a nested-stack parameter instead")
                for path in _imports(cfn.template.get(section) or {}, [section])
            ]
        return matches

