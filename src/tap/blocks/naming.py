"""Names for resources whose type insists on one.

Some resource types require a Name that must be unique in the account
(CloudFront origin access controls, key groups, functions, log deliveries).
Fixed names make a replacement or a second deployment fail, so these names
carry the stack id's UUID: unique per stack creation, stable across updates.
"""

from __future__ import annotations

from troposphere import Ref, Select, Split, Sub

_STACK_UUID = Select(2, Split("/", Ref("AWS::StackId")))


def unique_name(prefix: str) -> Sub:
    """`<prefix>-<uuid of this stack>`: 37 characters plus the prefix."""
    return Sub(f"{prefix}-${{Uuid}}", Uuid=_STACK_UUID)
