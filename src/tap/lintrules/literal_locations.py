"""E9003: no literal partition, account id, region or artefact bucket name."""

import re
import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch

if str(Path(__file__).resolve().parents[2]) not in sys.path:  # loaded by path: make tap importable
    sys.path.append(str(Path(__file__).resolve().parents[2]))

from tap.lintrules._policies import strings  # noqa: E402

PATTERNS = (
    (re.compile(r"arn:aws[a-z-]*:"), "a literal ARN partition; use ${AWS::Partition}"),
    # Bounded by non-word characters: a sha256 in a TemplateURL may hold 12 digits in a row.
    (re.compile(r"(?<![\w.])\d{12}(?![\w.])"), "a literal account id; use ${AWS::AccountId} or a parameter"),
    (re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d$"), "a literal region; use ${AWS::Region}"),
    (re.compile(r"tap-assets-(?!\$\{)"), "the artefact bucket's literal name; use the ArtifactBucket parameter"),
)

# Text for people, which may say where things are ("tap-assets-<account>-<region>").
PROSE = {"Description", "ConstraintDescription"}


class NoLiteralLocations(CloudFormationLintRule):
    id = "E9003"
    shortdesc = "No literal partition, account or region"
    description = (
        "Templates deploy unchanged in any partition, account and region (StackSets, GovCloud, "
        "China): ARNs are built from AWS::Partition, AWS::Region and AWS::AccountId or read "
        "from the resource, and per-account values arrive as parameters."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html"
    tags = ["tap", "portability"]

    def match(self, cfn):
        matches = []
        for section in ("Resources", "Outputs", "Conditions", "Mappings", "Parameters"):
            for text, path in strings(cfn.template.get(section) or {}, [section]):
                if path[-1] in PROSE:
                    continue
                for pattern, what in PATTERNS:
                    if pattern.search(text):
                        matches.append(RuleMatch(path, f"{what}: {text[:80]!r}"))
        return matches
