"""The type of a value in a CloudFormation template.

A property, parameter default or output is a literal (a string, number, boolean,
list or mapping of them) or an intrinsic function such as Ref, Fn::GetAtt or
Fn::Sub, which troposphere writes as an `AWSHelperFn`. troposphere has no type
stubs, so to mypy its classes are `Any`; the alias still says, at each signature,
that the value is a template value and not a Python one.
"""

from __future__ import annotations

from typing import Any, TypeAlias

CfnValue: TypeAlias = Any
