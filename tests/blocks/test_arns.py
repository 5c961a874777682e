"""arns: every ARN from the stack's own partition, region and account."""

from __future__ import annotations

from troposphere import Ref

from tap.blocks.arns import arn, aws_managed_policy


def test_arn_never_hard_codes_partition_region_or_account():
    assert arn("logs", "log-group:x").to_dict() == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:x"
    }


def test_arn_of_a_global_service_has_an_empty_region_and_may_leave_out_the_account():
    assert arn("s3", "${Bucket}", region="", account="", Bucket=Ref("Bucket")).to_dict() == {
        "Fn::Sub": ["arn:${AWS::Partition}:s3:::${Bucket}", {"Bucket": {"Ref": "Bucket"}}]
    }


def test_arn_of_any_region():
    assert arn("acm", "certificate/*", region="*").to_dict() == {
        "Fn::Sub": "arn:${AWS::Partition}:acm:*:${AWS::AccountId}:certificate/*"
    }


def test_aws_managed_policy_is_in_the_aws_account_of_the_stacks_partition():
    assert aws_managed_policy("service-role/Example").to_dict() == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/Example"
    }
