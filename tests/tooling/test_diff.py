"""`python build.py diff`: a fresh build against the committed templates, resource by
resource, with replacement predicted offline from CloudFormation's resource schemas, on
the cases reviewers meet."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys

import pytest

from tap import diff
from tap.build import Target, build_target
from tap.paths import CONFIG_DIR, REPO
from tap.systems import Tools


def old_templates(built, folder: str) -> dict:
    return diff.templates_of(built.targets[folder].emission)


def rebuilt(tmp_path, system: str, env: str, old: str, new: str) -> dict:
    """The templates of `system`/`env` built from its config with `old` replaced by `new`."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    path = config / system / f"{env}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    target = Target(system, env)
    build_target(target, Tools(), config)
    return diff.templates_of(target.emission)


def edited(templates: dict, path: tuple, logical_id: str, prop: str, value) -> dict:
    result = copy.deepcopy(templates)
    result[path]["Resources"][logical_id]["Properties"][prop] = value
    return result


def by_address(folder: diff.FolderDiff) -> dict[str, diff.Difference]:
    return {d.address: d for d in folder.differences}


def test_the_same_build_has_no_differences(built):
    templates = old_templates(built, "microservices/prod")
    assert diff.diff_folder("microservices/prod", templates, templates).differences == []


def test_giving_a_bucket_a_name_replaces_it_and_loses_it(built):
    old = old_templates(built, "distribution/dev")
    new = edited(old, ("StorageStack",), "BinariesBucket", "BucketName", "acme-binaries")
    result = diff.diff_folder("distribution/dev", old, new)
    bucket = by_address(result)["StorageStack/BinariesBucket"]
    assert (bucket.action, bucket.replacement, bucket.properties) == ("Modify", "True", ("BucketName",))
    assert bucket.why == "BucketName: create-only, changed"
    assert bucket.lost and "the old one stays in the account" in bucket.fate
    assert result.lost == [bucket]
    # The new bucket has a new name: its policy (in the CDN stack) names it, and may be replaced.
    policy = by_address(result)["CdnStack/BinariesBucketPolicy"]
    assert (policy.replacement, policy.why) == (
        "Conditional", "may replace: Bucket reads parameter BinariesBucketName, which changes")


def test_a_key_schema_change_replaces_the_table(built):
    old = old_templates(built, "distribution/dev")
    new = edited(old, ("DatabaseStack",), "LicensesTable", "KeySchema",
                 [{"AttributeName": "licenseId", "KeyType": "HASH"}])
    table = by_address(diff.diff_folder("distribution/dev", old, new))["DatabaseStack/LicensesTable"]
    assert (table.replacement, table.properties, table.lost) == ("True", ("KeySchema[0].AttributeName",), True)


def test_a_new_configured_value_changes_what_reads_its_root_parameter(built):
    # The certificate ARN is a root parameter: a new one in config changes the manifest only.
    templates = old_templates(built, "distribution/prod")
    old = {"CdnCertificateArn": "arn:aws:acm:us-east-1:111122223333:certificate/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12}
    new = {"CdnCertificateArn": old["CdnCertificateArn"].replace("0000-0000-0000", "1111-1111-1111")}
    assert diff.changed_parameters(old, new) == {"CdnCertificateArn"}
    assert diff.changed_parameters(old, dict(old)) == frozenset()
    result = diff.diff_folder("distribution/prod", templates, templates, diff.changed_parameters(old, new))
    (distribution,) = result.differences
    assert (distribution.address, distribution.action, distribution.replacement) == (
        "CdnStack/Distribution", "Modify", "False")
    assert distribution.why == "reads parameter CdnCertificateArn, which changes"


def test_an_engine_version_bump_is_in_place(built, tmp_path):
    old = old_templates(built, "microservices/dev")
    new = rebuilt(tmp_path, "microservices", "dev", 'engine_version = "17.6"', 'engine_version = "17.7"')
    result = diff.diff_folder("microservices/dev", old, new)
    database = by_address(result)["DatabaseStack/Database"]
    assert (database.action, database.replacement, database.properties) == ("Modify", "False", ("EngineVersion",))
    assert result.lost == []


def test_a_new_service_only_adds_its_own_resources(built, tmp_path):
    old = old_templates(built, "microservices/dev")
    new = rebuilt(tmp_path, "microservices", "dev", "[[services]]\nname = \"catalog\"", """[[services]]
name = "search"
repository = "example-org/search"
port = 8080
health_check_path = "/health"
path_pattern = "/search/*"

[[services]]
name = "catalog\"""")
    result = diff.diff_folder("microservices/dev", old, new)
    assert result.differences
    assert {d.action for d in result.differences} == {"Add"}
    assert all(d.address.split("/")[-1].startswith("Search") for d in result.differences)


def test_a_moved_resource_is_a_delete_and_a_create(built):
    old = old_templates(built, "distribution/dev")
    new = copy.deepcopy(old)
    moved = new[("DatabaseStack",)]["Resources"].pop("AnalyticsTable")
    new[("StorageStack",)]["Resources"]["AnalyticsTable"] = moved
    rows = by_address(diff.diff_folder("distribution/dev", old, new))
    removed, added = rows["DatabaseStack/AnalyticsTable"], rows["StorageStack/AnalyticsTable"]
    assert (removed.action, added.action) == ("Remove", "Add")
    assert removed.why == "moved to StorageStack/AnalyticsTable: deleted here"
    assert added.why == "moved from DatabaseStack/AnalyticsTable: a new resource"
    assert "left in the account (DeletionPolicy Retain)" in removed.fate and not removed.lost


def test_a_renamed_logical_id_is_a_delete_and_a_create(built):
    old = old_templates(built, "distribution/dev")
    new = copy.deepcopy(old)
    resources = new[("MonitoringStack",)]["Resources"]
    resources["ApiServerErrorsAlarm"] = resources.pop("Api5xxAlarm")
    new[("MonitoringStack",)]["Outputs"]["RollbackAlarmArns"]["Value"]["Fn::Join"][1][0] = {
        "Fn::GetAtt": ["ApiServerErrorsAlarm", "Arn"]}
    rows = by_address(diff.diff_folder("distribution/dev", old, new))
    assert rows["MonitoringStack/Api5xxAlarm"].why == "renamed to MonitoringStack/ApiServerErrorsAlarm: deleted here"
    assert rows["MonitoringStack/ApiServerErrorsAlarm"].action == "Add"


def test_a_changed_edge_function_makes_a_new_version_and_keeps_the_old(built, tmp_path):
    old = old_templates(built, "distribution/dev")
    new = rebuilt(tmp_path, "distribution", "dev", "license_cache_ttl_seconds = 30",
                  "license_cache_ttl_seconds = 60")
    result = diff.diff_folder("distribution/dev", old, new)
    versions = [d for d in result.differences if d.resource_type == "AWS::Lambda::Version"]
    assert sorted(d.action for d in versions) == ["Add", "Remove"]
    (retired,) = [d for d in versions if d.action == "Remove"]
    assert retired in result.left_behind and not retired.lost
    function = by_address(result)["EdgeStack/LicenseCheck"]
    assert (function.replacement, function.properties) == ("False", ("Code.S3Key",))
    # CloudFront reads the new version's ARN through the edge stack's output.
    distribution = by_address(result)["CdnStack/Distribution"]
    assert distribution.replacement == "False"
    assert distribution.why == "reads parameter LicenseCheckVersionArn, which changes"
    assert result.lost == []


def test_a_value_that_may_change_a_create_only_property_may_replace(built):
    """A value read from a sibling's output is unknown offline: when it feeds a create-only
    property, the change may replace."""
    old = old_templates(built, "microservices/dev")
    new = copy.deepcopy(old)
    # The network's private subnets are replaced; the database subnet group reads them.
    for subnet in ("PrivateSubnetA", "PrivateSubnetB"):
        new[("NetworkStack",)]["Resources"][subnet]["Properties"]["AvailabilityZone"] = {"Fn::Select": [
            "2", {"Fn::GetAZs": ""}]}
    rows = by_address(diff.diff_folder("microservices/dev", old, new))
    assert rows["NetworkStack/PrivateSubnetA"].replacement == "True"  # AvailabilityZone is create-only
    subnet_group = rows["DatabaseStack/DatabaseSubnetGroup"]
    assert (subnet_group.replacement, subnet_group.properties) == ("False", ("SubnetIds",))
    assert subnet_group.why == "reads parameter PrivateSubnetIds, which changes"
    cache = rows["CacheStack/CacheSubnetGroup"]
    assert cache.action == "Modify"


def test_the_formats_render_every_difference(built):
    old = old_templates(built, "distribution/dev")
    new = edited(old, ("StorageStack",), "BinariesBucket", "BucketName", "acme-binaries")
    results = [diff.diff_folder("distribution/dev", old, new), diff.diff_folder("distribution/prod", {}, {})]
    text = diff.table(results)
    assert text.splitlines()[0] == "templates/distribution/dev"
    assert text.splitlines()[1].split() == ["action", "resource", "type", "replace", "changed", "why"]
    assert "would lose stateful resources:" in text and text.rstrip().endswith("unchanged: distribution/prod")
    document = json.loads(diff.as_json(results))
    assert document["folders"][0]["lost"] == ["StorageStack/BinariesBucket"]
    assert "| Modify | StorageStack/BinariesBucket | AWS::S3::Bucket | True | BucketName |" in diff.markdown(results)


# --- the command line, in a copy of the checkout with its own git history --------------------


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkout")
    for name in ("src", "functions", "config", "templates", "build.py", "requirements.txt"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com",
                                                    "commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(root), *command], check=True)
    return root


def build_py(checkout, *args):
    return subprocess.run([sys.executable, str(checkout / "build.py"), *args], capture_output=True, text=True,
                          timeout=300)


def test_diff_of_a_committed_checkout_is_empty(checkout):
    result = build_py(checkout, "diff", "--fail-on-replace")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("unchanged: bootstrap, distribution/dev")


def test_diff_fails_on_a_replaced_table_when_asked(checkout):
    config = checkout / "config/distribution/dev.toml"
    original = config.read_text()
    config.write_text(original.replace('"tap-distribution-dev-licenses"', '"tap-distribution-dev-licences"'))
    try:
        shown = build_py(checkout, "diff", "--system", "distribution", "--env", "dev")
        assert shown.returncode == 0
        assert "  Modify  DatabaseStack/LicensesTable" in shown.stdout
        gated = build_py(checkout, "diff", "--system", "distribution", "--fail-on-replace", "--format", "json")
        assert gated.returncode == 3
        assert json.loads(gated.stdout)["folders"][0]["lost"] == ["DatabaseStack/LicensesTable"]
    finally:
        config.write_text(original)


def test_diff_shows_a_new_certificate_in_config_though_no_template_changes(checkout):
    config = checkout / "config/distribution/prod.toml"
    original = config.read_text()
    config.write_text(original.replace("certificate/0a1b2c3d-", "certificate/9a1b2c3d-"))
    try:
        shown = build_py(checkout, "diff", "--system", "distribution", "--env", "prod")
        assert shown.returncode == 0, shown.stderr
        assert re.search(r"  Modify +CdnStack/Distribution +AWS::CloudFront::Distribution +False +"
                         r"DistributionConfig +reads parameter CdnCertificateArn, which changes", shown.stdout)
    finally:
        config.write_text(original)


def test_an_unknown_ref_is_one_clear_error(checkout):
    result = build_py(checkout, "diff", "--against", "no-such-branch")
    assert result.returncode == 2
    assert result.stderr == ("error: --against 'no-such-branch': not a commit in this repository; allowed: a "
                             "branch, tag or commit (default HEAD, the committed templates/)\n")
