"""Distribution platform, root stack: nesting order, wiring and outputs."""

from __future__ import annotations

import re
import shutil

import pytest

from tap import build
from tap.paths import CONFIG_DIR

ENVS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module", params=ENVS)
def root(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "root")


def test_root_nests_one_stack_per_concern(root):
    nested = sorted(lid for lid, r in root["Resources"].items() if r["Type"] == "AWS::CloudFormation::Stack")
    assert nested == ["ApiStack", "CdnStack", "DatabaseStack", "EdgeStack", "FunctionsStack",
                      "MonitoringStack", "StorageStack"]


def test_outputs_give_what_a_user_needs(root):
    assert {
        "DistributionDomainName", "ApiUrl", "BinariesBucketName", "LicensesTableName",
        "AnalyticsTableName", "KeyGroupId", "SigningKeySecretArn",
    } <= set(root["Outputs"])


def test_the_public_key_is_a_root_parameter_passed_to_the_cdn(root):
    assert "SigningPublicKey" in root["Parameters"]
    cdn = root["Resources"]["CdnStack"]["Properties"]["Parameters"]
    assert cdn["SigningPublicKey"] == {"Ref": "SigningPublicKey"}


def test_two_signing_key_slots_and_the_active_one_reach_the_stacks_that_need_them(root):
    parameters = root["Parameters"]
    assert "Default" not in parameters["SigningPublicKey"]  # slot A: given at the first deploy
    assert parameters["SigningPublicKeyB"]["Default"] == ""
    assert (parameters["ActiveSigningKey"]["AllowedValues"], parameters["ActiveSigningKey"]["Default"]) == (
        ["A", "B"], "A")
    pattern = re.compile(parameters["SigningPublicKey"]["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n")
    assert not pattern.fullmatch("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    cdn = root["Resources"]["CdnStack"]["Properties"]["Parameters"]
    for name in ("SigningPublicKey", "SigningPublicKeyB", "ActiveSigningKey"):
        assert cdn[name] == {"Ref": name}
    functions = root["Resources"]["FunctionsStack"]["Properties"]["Parameters"]
    assert functions["ActiveSigningKey"] == {"Ref": "ActiveSigningKey"}


def test_the_active_slot_must_hold_a_key(root):
    for slot, parameter in (("A", "SigningPublicKey"), ("B", "SigningPublicKeyB")):
        rule = root["Rules"][f"ActiveSlot{slot}HoldsAKey"]
        assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "ActiveSigningKey"}, slot]}
        (assertion,) = rule["Assertions"]
        assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}
        assert parameter in assertion["AssertDescription"]


def test_usage_plan_ids_are_root_outputs_for_customer_keys(built):
    prod = built.template("distribution/prod", "root")
    assert {"StandardUsagePlanId", "PartnerUsagePlanId", "SigningKeySecretBArn"} <= set(prod["Outputs"])
    assert "OperatorApiKeyId" not in prod["Outputs"]


def test_operator_principals_are_a_checked_list_defaulting_to_the_account(root):
    parameter = root["Parameters"]["OperatorPrincipals"]
    assert (parameter["Type"], parameter["Default"]) == ("CommaDelimitedList", "account")
    pattern = re.compile(parameter["AllowedPattern"])
    for allowed in ("account", "arn:aws:iam::123456789012:role/ops/tap-operator",
                    "arn:aws:iam::123456789012:user/alice"):
        assert pattern.fullmatch(allowed), allowed
    for refused in ("*", "arn:aws:iam::123456789012:root", "arn:aws:sts::123456789012:assumed-role/x/y",
                    "123456789012", "arn:aws:iam::*:role/x"):
        assert not pattern.fullmatch(refused), refused
    functions = root["Resources"]["FunctionsStack"]["Properties"]["Parameters"]
    assert functions["OperatorPrincipals"] == {"Fn::Join": [",", {"Ref": "OperatorPrincipals"}]}


def test_the_license_api_signs_for_the_cdn_it_is_wired_to(built):
    for env in ENVS:
        folder = f"distribution/{env}"
        for parameter in ("PublicKeyId", "DownloadDomain", "SignedPathPrefix"):
            stack, _ = built.resolve(folder, "functions", {"Ref": parameter})
            assert stack == "cdn", (env, parameter)


def test_every_template_fits_the_quotas_with_room(built):
    for env in ENVS:
        for info in built.targets[f"distribution/{env}"].emission.templates:
            assert info.usage.resources < 200 and info.usage.bytes < 200_000


def test_building_for_another_region_is_a_clear_error(tmp_path, capsys):
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    prod = config_dir / "distribution" / "prod.toml"
    prod.write_text(prod.read_text().replace('region = "us-east-1"', 'region = "eu-west-1"'))
    status = build.main(["--system", "distribution", "--env", "prod", "--no-lint"],
                        config_dir=config_dir, templates_dir=tmp_path / "templates")
    assert status == 2
    err = capsys.readouterr().err
    assert 'config/distribution/prod.toml: region: "eu-west-1" is not allowed' in err
    assert "us-east-1 only" in err
