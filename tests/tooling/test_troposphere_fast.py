"""troposphere's fast set-up makes what troposphere's own makes, and fails as it fails."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import troposphere
from troposphere import (
    AWSObject,
    AWSProperty,
    BaseAWSObject,
    GetAtt,
    Ref,
    Sub,
    Tags,
    awslambda,
    cloudformation,
    ec2,
    ecs,
    elasticloadbalancingv2,
    iam,
    s3,
)
from troposphere.validators import integer

from tap import stacktree, troposphere_fast  # noqa: F401  (stacktree installs it)


@contextmanager
def troposphere_as_shipped() -> Iterator[None]:
    fast_init, fast_setattr = BaseAWSObject.__init__, BaseAWSObject.__setattr__
    BaseAWSObject.__init__ = troposphere_fast.original_init  # type: ignore[method-assign]
    BaseAWSObject.__setattr__ = troposphere_fast.original_setattr  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseAWSObject.__init__ = fast_init  # type: ignore[method-assign]
        BaseAWSObject.__setattr__ = fast_setattr  # type: ignore[method-assign]


def outcome(make: Callable[[], BaseAWSObject]) -> Any:
    """Everything an object holds, as data; or the error making it raised."""
    try:
        made = make()
    except Exception as err:  # noqa: BLE001 - the error is the outcome compared
        return type(err), str(err)
    return {
        "title": made.title,
        "resource": troposphere.encode_to_dict(made.resource),
        "propnames": sorted(made.propnames),
        "attributes": made.attributes,
        "validation": made.do_validation,
        "state": sorted(made.__dict__),
    }


def both(make: Callable[[], BaseAWSObject]) -> tuple[Any, Any]:
    with troposphere_as_shipped():
        shipped = outcome(make)
    return shipped, outcome(make)


def test_it_is_installed_for_the_pinned_troposphere():
    # A troposphere upgrade fails here: check the two methods against the new version's
    # before moving WRITTEN_FOR (install() leaves any other version alone).
    assert troposphere.__version__ == troposphere_fast.WRITTEN_FOR
    assert BaseAWSObject.__init__ is troposphere_fast._init
    assert BaseAWSObject.__setattr__ is troposphere_fast._setattr


def every_troposphere_class() -> list[type]:
    found = []
    for module in pkgutil.iter_modules(troposphere.__path__):
        try:
            loaded = importlib.import_module(f"troposphere.{module.name}")
        except ImportError:  # modules for optional extras
            continue
        found.extend(
            cls for cls in vars(loaded).values()
            if inspect.isclass(cls) and issubclass(cls, BaseAWSObject) and cls.__module__ == loaded.__name__
        )
    return found


def test_every_troposphere_class_is_set_up_the_same():
    classes = every_troposphere_class()
    assert len(classes) > 5000  # every service module, not a handful
    makes = [(lambda cls=cls: cls("Thing") if issubclass(cls, AWSObject) else cls()) for cls in classes]
    with troposphere_as_shipped():  # once: swapping methods clears the type caches of them all
        shipped = [outcome(make) for make in makes]
    for cls, make, expected in zip(classes, makes, shipped):
        assert outcome(make) == expected, cls


class Defaulted(AWSProperty):
    props = {"Name": (str, True), "Size": (integer, False)}
    Name = "from-the-class"


VALUE = Ref("Value")

CASES: dict[str, Callable[[], BaseAWSObject]] = {
    "typed properties": lambda: s3.Bucket("Bucket", BucketName="b", VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled")),
    "a validator that converts": lambda: ec2.SecurityGroupIngress("In", IpProtocol="tcp", FromPort=443, ToPort="443", GroupId="sg"),
    "a validator that refuses": lambda: ec2.SecurityGroupIngress("In", IpProtocol="tcp", FromPort="https"),
    "a wrong type": lambda: ecs.Cluster("Cluster", ClusterName=3),
    "a wrong type for a validator": lambda: s3.Bucket("Bucket", BucketName=3),
    "a wrong type in a list": lambda: ec2.SecurityGroup("Group", GroupDescription="g", SecurityGroupIngress=["x"]),
    "a list of properties": lambda: ec2.SecurityGroup("Group", GroupDescription="g", SecurityGroupIngress=[ec2.SecurityGroupRule(IpProtocol="-1")]),
    "a list where one is expected": lambda: iam.Role("Role", AssumeRolePolicyDocument={}, ManagedPolicyArns="arn"),
    "functions instead of values": lambda: awslambda.Function("Fn", Role=GetAtt("Role", "Arn"), Runtime=Ref("Runtime"), MemorySize=Sub("${Size}"), Code=awslambda.Code(S3Bucket=VALUE, S3Key=VALUE)),
    "tags": lambda: s3.Bucket("Bucket", Tags=Tags(Name="n")),
    "tags where a type is expected": lambda: ecs.Cluster("Cluster", ClusterName=Tags(Name="n")),
    "resource attributes": lambda: s3.Bucket("Bucket", DependsOn=["Other", s3.Bucket("Other")], DeletionPolicy="Retain", Condition="IsProd", Metadata={"a": 1}),
    "an unknown property": lambda: s3.Bucket("Bucket", BucketNam="b"),
    "a custom resource": lambda: cloudformation.CustomResource("Custom", ServiceToken="arn", Anything=[1, 2]),
    "a title that is not alphanumeric": lambda: s3.Bucket("my-bucket"),
    "no validation": lambda: elasticloadbalancingv2.Listener("Listener", validation=False, Port="80"),
    "a default on the class": lambda: Defaulted(Size="3"),
    "a default on the class, overridden": lambda: Defaulted(Name="given"),
    "a bad value for a default's neighbour": lambda: Defaulted(Size="three"),
}


@pytest.mark.parametrize("make", CASES.values(), ids=CASES.keys())
def test_objects_are_the_same_and_errors_are_troposphere_own(make):
    shipped, fast = both(make)
    assert fast == shipped


def test_setting_a_property_later_is_checked_as_troposphere_checks_it():
    def later(value: Any) -> Callable[[], BaseAWSObject]:
        def make() -> BaseAWSObject:
            bucket = s3.Bucket("Bucket")
            bucket.BucketName = value
            return bucket
        return make

    for value in ("name", VALUE, 7, ["a"]):
        shipped, fast = both(later(value))
        assert fast == shipped, value
    assert isinstance(both(later(7))[1], tuple)  # refused, with troposphere's TypeError


def test_a_template_holds_the_objects_it_was_given():
    template = troposphere.Template()
    bucket = s3.Bucket("Bucket", template=template)
    assert template.resources == {"Bucket": bucket}
