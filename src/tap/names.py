"""Names that are a contract between the templates, the bootstrap stack and the deploy tool.

Changing any of these changes where artefacts live or what parameters the
root templates take, so they are defined once, here.
"""

# Root-template parameters that locate the artefact bucket.
ARTIFACT_BUCKET_PARAMETER = "ArtifactBucket"
ARTIFACT_ACCOUNT_PARAMETER = "ArtifactAccount"

# The bootstrap bucket's name: one per account and region, so a stack finds
# it from its own AWS::AccountId and AWS::Region without being told.
BOOTSTRAP_BUCKET_PREFIX = "tap-assets"
BOOTSTRAP_BUCKET_SUB = BOOTSTRAP_BUCKET_PREFIX + "-${Account}-${AWS::Region}"


def bootstrap_bucket_name(account_id: str, region: str) -> str:
    return f"{BOOTSTRAP_BUCKET_PREFIX}-{account_id}-{region}"


# Object keys in the artefact bucket; the sha256 of the bytes is part of the
# key, so a key never points at two different contents.
def template_key(stack_name: str, sha256: str) -> str:
    return f"templates/{stack_name}-{sha256}.json"


def function_key(function_name: str, sha256: str) -> str:
    return f"functions/{function_name}-{sha256}.zip"


TEMPLATE_SUFFIX = ".template.json"
MANIFEST_FILE = "manifest.json"

# Root-stack output listing the alarms (ARNs, comma-separated, at most five) whose
# firing during a deploy means the deploy broke the platform: the deploy tool makes
# them the stack's rollback triggers.
ROLLBACK_ALARMS_OUTPUT = "RollbackAlarmArns"
# The same for composite alarms (a rollback trigger names its alarm's type).
ROLLBACK_COMPOSITE_ALARMS_OUTPUT = "RollbackCompositeAlarmArns"
# Each output's alarm type, as a rollback trigger names it.
ROLLBACK_TRIGGER_TYPES = {
    ROLLBACK_ALARMS_OUTPUT: "AWS::CloudWatch::Alarm",
    ROLLBACK_COMPOSITE_ALARMS_OUTPUT: "AWS::CloudWatch::CompositeAlarm",
}

# Outputs a nested stack gives per unit it deploys (a microservice): `<Unit><suffix>`.
# `./deploy.sh outputs` lists them grouped by unit, under the root's own outputs.
PER_UNIT_OUTPUTS = ("ServiceName", "RepositoryUri", "DeployRoleArn", "PipelineName")
MAX_ROLLBACK_TRIGGERS = 5  # CloudFormation's limit per RollbackConfiguration
