"""ARNs written from the stack's own partition, region and account.

`arn:aws:…` literals break in GovCloud and China, so every ARN a template
builds comes from `arn()` here (or from the resource's own `GetAtt … Arn`).
"""

from __future__ import annotations

from troposphere import Sub

from tap.cfnvalue import CfnValue

THIS_REGION = "${AWS::Region}"
THIS_ACCOUNT = "${AWS::AccountId}"


def arn(
    service: str, resource: str, *, region: str = THIS_REGION, account: str = THIS_ACCOUNT,
    **variables: CfnValue,
) -> Sub:
    """`arn:<partition>:<service>:<region>:<account>:<resource>` as an Fn::Sub.

    `region` and `account` default to the stack's own; pass "" for a global service
    (IAM, S3, CloudFront) or "*" for any. `resource` may use ${Name} placeholders
    filled by the keyword `variables` (a Ref of a resource or parameter, say)."""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region}:{account}:{resource}", **variables)


def aws_managed_policy(path: str) -> Sub:
    """The ARN of an AWS managed policy, such as `service-role/AmazonRDSEnhancedMonitoringRole`."""
    return arn("iam", f"policy/{path}", region="", account="aws")
