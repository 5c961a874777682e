"""Rotating the URL-signing key in the emulator: three plain deploys (add the next key to the
empty slot, switch to it, empty the old slot), each leaving CloudFront trusting the key the
licence API signs with, and no public key ever changed in place."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tap.deploy.emulator import Emulator
from tests.deploy.test_emulator import Account


@pytest.fixture(scope="module")
def aws():
    with Emulator() as emulator:
        yield emulator


def public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


SLOT_PARAMETERS = {"UrlSigningPublicKey": "SigningPublicKey", "UrlSigningPublicKeyB": "SigningPublicKeyB"}


def signing_state(account: Account, root_id: str) -> dict:
    """The public keys the cdn stack holds (by id, with the PEM of their slot; the key group
    lists exactly these, tests/systems/test_distribution_cdn.py), and what the licence API
    signs with. Key groups are stand-ins in the emulator, so the stack is read, not CloudFront."""
    cdn = account.nested(root_id, "CdnStack")["StackId"]
    functions = account.nested(root_id, "FunctionsStack")["StackId"]
    (described,) = account.cloudformation.describe_stacks(StackName=cdn)["Stacks"]
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described["Parameters"]}
    trusted = {resource["PhysicalResourceId"]: parameters[SLOT_PARAMETERS[resource["LogicalResourceId"]]]
               for resource in account.resources(cdn) if resource["ResourceType"] == "AWS::CloudFront::PublicKey"}
    function = account.output(functions, "LicenseApiFunctionName")
    environment = account.client("lambda").get_function_configuration(
        FunctionName=function)["Environment"]["Variables"]
    assert environment["SIGNING_KEY_ID"] == account.output(cdn, "PublicKeyId")
    return {
        "trusted": trusted,
        "signs_with": environment["SIGNING_KEY_ID"],
        "secret": environment["SIGNING_KEY_SECRET_ARN"],
        "secrets": {slot: account.output(root_id, f"SigningKeySecret{slot}Arn") for slot in ("", "B")},
    }


def test_rotation_is_three_plain_deploys_and_never_changes_a_key_in_place(aws, built):
    account = Account(aws.url)
    account.bootstrap(built)
    target = built.targets["distribution/dev"]
    account.upload(target)
    old, new = public_pem(), public_pem()
    stack = account.deploy("tap-distribution-dev", target, {"SigningPublicKey": old})
    root = stack["StackId"]
    first = signing_state(account, root)
    assert list(first["trusted"].values()) == [old]
    assert first["signs_with"] in first["trusted"] and first["secret"] == first["secrets"][""]
    old_id = first["signs_with"]

    # 1. add the next key to the empty slot B: both trusted, still signing with A
    account.deploy(stack["StackName"], target, {"SigningPublicKey": old, "SigningPublicKeyB": new}, "UPDATE")
    added = signing_state(account, root)
    assert sorted(added["trusted"].values()) == sorted([old, new])
    assert (added["signs_with"], added["secret"]) == (old_id, added["secrets"][""])
    (new_id,) = set(added["trusted"]) - {old_id}

    # 2. switch: both still trusted, URLs now signed with B's key and B's secret
    account.deploy(stack["StackName"], target,
                   {"SigningPublicKey": old, "SigningPublicKeyB": new, "ActiveSigningKey": "B"}, "UPDATE")
    switched = signing_state(account, root)
    assert switched["trusted"] == added["trusted"]
    assert (switched["signs_with"], switched["secret"]) == (new_id, switched["secrets"]["B"])

    # 3. remove the old key by emptying its slot: only the new key is trusted
    account.deploy(stack["StackName"], target,
                   {"SigningPublicKey": "", "SigningPublicKeyB": new, "ActiveSigningKey": "B"}, "UPDATE")
    removed = signing_state(account, root)
    assert removed["trusted"] == {new_id: new}
    assert removed["signs_with"] == new_id

    # No step updated a public key: each was created once (and the old one deleted once).
    cdn = account.nested(root, "CdnStack")["StackId"]
    events = account.cloudformation.describe_stack_events(StackName=cdn)["StackEvents"]
    key_events = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in events
                  if e["ResourceType"] == "AWS::CloudFront::PublicKey"]
    assert not [event for event in key_events if event[1].startswith("UPDATE")], json.dumps(key_events)
