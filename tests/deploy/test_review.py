"""The review of nested change sets, on recorded DescribeChangeSet shapes: a database
replacement stops the deploy; CloudFormation's false replacements through sibling
outputs (cloudformation-coverage-roadmap#759) are reconciled, and only when the
sibling really is unchanged."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from tap.deploy import changesets, review
from tap.deploy.review import Review
from tap.errors import GateRefused, UserError
from tests.deploy.conftest import changed
from tests.deploy.recorded import (
    change_set,
    change_set_arn,
    detail,
    resource_change,
    stack_arn,
)

ROOT = "tap-distribution-dev"
ROOT_CS = change_set_arn("tap-20261202-060000", "00000000-0000-4000-8000-000000000001")
DATABASE_CS = change_set_arn("tap-20261202-060000-DatabaseStack", "00000000-0000-4000-8000-000000000002")
EDGE_CS = change_set_arn("tap-20261202-060000-EdgeStack", "00000000-0000-4000-8000-000000000003")
API_CS = change_set_arn("tap-20261202-060000-ApiStack", "00000000-0000-4000-8000-000000000004")
NEW_KEY_SCHEMA = [{"AttributeName": "licenseKeyHash", "KeyType": "HASH"}]


def nested_id(logical_id: str) -> str:
    return stack_arn(f"{ROOT}-{logical_id}-1ABCDEFGHIJK")


MONITORING_CS = change_set_arn("tap-20261202-060000-MonitoringStack", "00000000-0000-4000-8000-000000000005")
FUNCTIONS_CS = change_set_arn("tap-20261202-060000-FunctionsStack", "00000000-0000-4000-8000-000000000006")


def nested(logical_id: str, arn: str, changes: list) -> tuple[dict, dict]:
    """The root's change for a nested stack, and the nested change set it names."""
    if logical_id in ("DatabaseStack", "MonitoringStack"):
        cause = detail("TemplateURL", "Never", "Static", "DirectModification")
    else:
        source = {"EdgeStack": "DatabaseStack.Outputs.LicensesTableArn",
                  "FunctionsStack": "DatabaseStack.Outputs.LicensesTableName",
                  "ApiStack": "FunctionsStack.Outputs.LicenseApiFunctionArn"}[logical_id]
        cause = detail("Parameters", "Never", "Dynamic", "ResourceAttribute", source)
    in_root = resource_change("Modify", logical_id, "AWS::CloudFormation::Stack",
                              physical_id=nested_id(logical_id), nested=arn, details=[cause])
    name = f"tap-20261202-060000-{logical_id}"
    return in_root, change_set(name, arn, f"{ROOT}-{logical_id}-1ABCDEFGHIJK", nested_id(logical_id),
                               changes, parent=ROOT_CS)


TABLE_REPLACED = ("DatabaseStack", DATABASE_CS, [
    resource_change("Modify", "LicensesTable", "AWS::DynamoDB::Table",
                    physical_id="tap-distribution-dev-licenses", replacement="True",
                    details=[detail("KeySchema", "Always", "Static", "DirectModification")]),
])
EDGE_ROLE = ("EdgeStack", EDGE_CS, [
    resource_change("Modify", "LicenseCheckRole", "AWS::IAM::Role",
                    physical_id="tap-distribution-dev-EdgeStack-LicenseCheckRole-1ABC",
                    replacement="Conditional",
                    details=[detail("Policies", "Conditionally", "Dynamic", "ParameterReference",
                                    "LicensesTableArn")]),
])
API_PERMISSION = ("ApiStack", API_CS, [
    resource_change("Modify", "ApiLicensesPostPermission", "AWS::Lambda::Permission",
                    physical_id="tap-distribution-dev-ApiStack-ApiLicensesPostPermission-1ABC",
                    replacement="True",
                    details=[detail("FunctionName", "Always", "Dynamic", "ParameterReference",
                                    "LicenseApiFunctionArn")]),
    resource_change("Modify", "ApiLicensesPostMethod", "AWS::ApiGateway::Method",
                    physical_id="tap-dis-ApiLi-1ABC", replacement="False",
                    details=[detail("Integration", "Never", "Dynamic", "ParameterReference",
                                    "LicenseApiFunctionArn")]),
])
FUNCTION_ENVIRONMENT = ("FunctionsStack", FUNCTIONS_CS, [
    resource_change("Modify", "LicenseApi", "AWS::Lambda::Function",
                    physical_id="tap-distribution-dev-FunctionsStack-LicenseApi-1ABC", replacement="False",
                    details=[detail("Environment", "Never", "Dynamic", "ParameterReference",
                                    "LicensesTableName")]),
])
ALARM_THRESHOLD = ("MonitoringStack", MONITORING_CS, [
    resource_change("Modify", "Api5xxAlarm", "AWS::CloudWatch::Alarm",
                    physical_id="tap-distribution-dev-MonitoringStack-Api5xxAlarm-1ABC",
                    replacement="False", details=[detail("Threshold", "Never", "Static", "DirectModification")]),
])


def recorded_tree(cloudformation, *stacks) -> changesets.ChangeSetNode:
    """The change-set tree CloudFormation reports when the nested stacks `stacks` change:
    the ones that really changed, and the siblings it lists because their parameters
    are other stacks' outputs."""
    pieces = [nested(*stack) for stack in stacks]
    root = change_set("tap-20261202-060000", ROOT_CS, ROOT, stack_arn(ROOT), [p[0] for p in pieces])
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_change_set", root, {"ChangeSetName": ROOT_CS})
        for (_, arn, _), (_, response) in zip(stacks, pieces):
            stubber.add_response("describe_change_set", response, {"ChangeSetName": arn})
        tree = changesets.read_tree(cloudformation, ROOT_CS)
        stubber.assert_no_pending_responses()
    return tree


@pytest.fixture
def key_schema_review(cloudformation, distribution_dev):
    """A key-schema change of the licences table: CloudFormation replaces it, and lists
    the edge and functions stacks (fed by the database stack's outputs) and the api stack
    (fed by the functions stack's) with dynamic, possibly-replacing changes."""
    old = distribution_dev
    new = changed(old, ("DatabaseStack",), "LicensesTable", "KeySchema", NEW_KEY_SCHEMA)
    tree = recorded_tree(cloudformation, TABLE_REPLACED, EDGE_ROLE, FUNCTION_ENVIRONMENT, API_PERMISSION)
    rows = review.build_rows(tree, new.get, old.get, {}, frozenset())
    return Review(ROOT, ROOT_CS, "UPDATE", "123456789012", "us-east-1", rows)


def by_address(rows):
    return {row.address: row for row in rows}


def test_nested_change_sets_are_read_recursively_with_their_paths(cloudformation):
    tree = recorded_tree(cloudformation, TABLE_REPLACED, EDGE_ROLE, API_PERMISSION)
    assert [node.path for node in tree.walk()] == [(), ("DatabaseStack",), ("EdgeStack",), ("ApiStack",)]


def test_a_replaced_table_is_lost_and_stops_the_deploy(key_schema_review):
    table = by_address(key_schema_review.rows)["DatabaseStack/LicensesTable"]
    assert (table.replacement, table.lost, table.properties) == ("True", True, ("KeySchema",))
    assert "the old one stays in the account" in table.fate  # UpdateReplacePolicy Retain
    with pytest.raises(GateRefused) as refused:
        review.gate(key_schema_review)
    assert "DatabaseStack/LicensesTable (AWS::DynamoDB::Table)" in str(refused.value)
    assert "--allow-replace DatabaseStack/LicensesTable" in str(refused.value)
    assert refused.value.exit_code == 3


def test_allow_replace_lets_the_named_resource_go(key_schema_review):
    key_schema_review.allowed = ("DatabaseStack/LicensesTable",)
    review.gate(key_schema_review)
    assert "Allowed by --allow-replace:" in review.table(key_schema_review)


def test_allow_replace_of_something_not_lost_is_a_mistake(key_schema_review):
    key_schema_review.allowed = ("DatabaseStack/LicensesTable", "DatabaseStack/AnalyticsTable")
    with pytest.raises(UserError, match="DatabaseStack/AnalyticsTable: not a stateful resource"):
        review.gate(key_schema_review)


@pytest.fixture
def alarm_review(cloudformation, distribution_dev):
    """Only an alarm threshold changes; CloudFormation still lists the api stack."""
    old = distribution_dev
    new = changed(old, ("MonitoringStack",), "Api5xxAlarm", "Threshold", 5)
    tree = recorded_tree(cloudformation, ALARM_THRESHOLD, API_PERMISSION)
    rows = review.build_rows(tree, new.get, old.get, {}, frozenset())
    return Review(ROOT, ROOT_CS, "UPDATE", "123456789012", "us-east-1", rows)


def test_changes_fed_by_an_unchanged_sibling_are_reconciled(alarm_review):
    rows = by_address(alarm_review.rows)
    permission = rows["ApiStack/ApiLicensesPostPermission"]
    method = rows["ApiStack/ApiLicensesPostMethod"]
    assert (permission.reconciled, permission.replacement) == (review.UNCHANGED_SOURCE, "True")
    assert (method.reconciled, method.replacement) == (review.UNCHANGED_SOURCE, "False")
    assert rows["MonitoringStack/Api5xxAlarm"].reconciled == ""


def test_changes_fed_by_a_changed_output_stay_as_reported(key_schema_review):
    """The replaced table gets a new ARN, which the edge role's policy reads."""
    role = by_address(key_schema_review.rows)["EdgeStack/LicenseCheckRole"]
    assert (role.reconciled, role.replacement) == ("", "Conditional")


def test_an_output_that_keeps_its_value_through_a_changed_sibling_is_reconciled(key_schema_review):
    """The functions stack changes (its environment names the table), but a function
    updated in place keeps its ARN: the api permissions that read it are not replaced."""
    rows = by_address(key_schema_review.rows)
    assert rows["FunctionsStack/LicenseApi"].reconciled == ""
    assert rows["ApiStack/ApiLicensesPostPermission"].reconciled == review.UNCHANGED_SOURCE


def test_the_table_shows_real_changes_and_counts_the_echoes(key_schema_review, alarm_review):
    text = review.table(key_schema_review)
    assert text.splitlines()[2].split() == ["action", "resource", "type", "replace", "changed", "cause"]
    assert "Modify  DatabaseStack/LicensesTable" in text
    assert "Would lose stateful resources (the deploy stops):" in text
    text = review.table(alarm_review)
    table_rows = [line.split()[1] for line in text.splitlines()[3:] if line.startswith("Modify")]
    assert table_rows == ["MonitoringStack/Api5xxAlarm"]
    assert "1 changes: 1 to modify" in text
    assert ("and 2 more that CloudFormation lists because their values come from other stacks' outputs, "
            "which this update leaves as they are (ApiStack 2; in the saved review; "
            "https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/759)") in text


def test_the_review_round_trips_through_json_and_renders_markdown(key_schema_review):
    again = Review.from_json(key_schema_review.to_json())
    assert again == key_schema_review
    markdown = review.markdown(key_schema_review)
    assert markdown.startswith("### Change set tap-20261202-060000 to update stack tap-distribution-dev")
    assert "| Modify | DatabaseStack/LicensesTable | AWS::DynamoDB::Table | True | KeySchema | template |" in markdown


# --- a stateful resource behind a chain of references (microservices database) -----------------

DB_ROOT = "tap-microservices-dev"
DB_ROOT_CS = change_set_arn("tap-20261202-070000", "00000000-0000-4000-8000-000000000011")
DB_CS = change_set_arn("tap-20261202-070000-DatabaseStack", "00000000-0000-4000-8000-000000000012")
NETWORK_CS = change_set_arn("tap-20261202-070000-NetworkStack", "00000000-0000-4000-8000-000000000013")


def network_change(replacement: str, name: str, value: str) -> dict:
    """The network stack's nested change set: a private subnet changes one property."""
    return change_set("tap-20261202-070000-NetworkStack", NETWORK_CS, f"{DB_ROOT}-NetworkStack-1ABC",
                      stack_arn(f"{DB_ROOT}-NetworkStack-1ABC"), [
        resource_change("Modify", "PrivateSubnetA", "AWS::EC2::Subnet", physical_id="subnet-0a1b2c3d4e5f60718",
                        replacement=replacement,
                        details=[detail(name, "Always" if replacement == "True" else "Never", "Static",
                                        "DirectModification")]),
    ], parent=DB_ROOT_CS)


def database_tree(cloudformation, network: dict | None = None,
                  subnet_group: dict | None = None) -> changesets.ChangeSetNode:
    """How CloudFormation reports the database stack when its parameters come from the
    network and security stacks' outputs: the subnet group's subnets are dynamic, and the
    instance may be replaced through the subnet group's name and its security groups.
    `network` is the network stack's own change set, when it changes; `subnet_group`
    the subnet group's change when the database template itself changes it."""
    changes = [
        resource_change("Modify", "DatabaseStack", "AWS::CloudFormation::Stack",
                        physical_id=stack_arn(f"{DB_ROOT}-DatabaseStack-1ABC"), nested=DB_CS,
                        details=[detail("Parameters", "Never", "Dynamic", "ResourceAttribute",
                                        "NetworkStack.Outputs.PrivateSubnetIds")]),
    ]
    if network:
        changes.insert(0, resource_change(
            "Modify", "NetworkStack", "AWS::CloudFormation::Stack",
            physical_id=stack_arn(f"{DB_ROOT}-NetworkStack-1ABC"), nested=NETWORK_CS,
            details=[detail("TemplateURL", "Never", "Static", "DirectModification")]))
    root = change_set("tap-20261202-070000", DB_ROOT_CS, DB_ROOT, stack_arn(DB_ROOT), changes)
    database = change_set("tap-20261202-070000-DatabaseStack", DB_CS, f"{DB_ROOT}-DatabaseStack-1ABC",
                          stack_arn(f"{DB_ROOT}-DatabaseStack-1ABC"), [
        subnet_group or resource_change(
            "Modify", "DatabaseSubnetGroup", "AWS::RDS::DBSubnetGroup",
            physical_id="tap-microservices-dev-databasesubnetgroup-1abc", replacement="False",
            details=[detail("SubnetIds", "Never", "Dynamic", "ParameterReference", "PrivateSubnetIds")]),
        resource_change("Modify", "Database", "AWS::RDS::DBInstance",
                        physical_id="tap-microservices-dev-database-1abc", replacement="Conditional",
                        details=[
                            detail("DBSubnetGroupName", "Always", "Dynamic", "ResourceReference",
                                   "DatabaseSubnetGroup"),
                            detail("VPCSecurityGroups", "Never", "Dynamic", "ParameterReference",
                                   "DatabaseSecurityGroupId"),
                        ]),
    ], parent=DB_ROOT_CS)
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_change_set", root, {"ChangeSetName": DB_ROOT_CS})
        if network:
            stubber.add_response("describe_change_set", network, {"ChangeSetName": NETWORK_CS})
        stubber.add_response("describe_change_set", database, {"ChangeSetName": DB_CS})
        return changesets.read_tree(cloudformation, DB_ROOT_CS)


def test_a_database_behind_unchanged_siblings_is_not_blocked(cloudformation, microservices_dev):
    old = microservices_dev
    new = changed(old, ("CacheStack",), "Cache", "SnapshotRetentionLimit", 9)  # an unrelated change
    rows = review.build_rows(database_tree(cloudformation), new.get, old.get, {}, frozenset())
    database = by_address(rows)["DatabaseStack/Database"]
    assert (database.reconciled, database.lost) == (review.UNCHANGED_SOURCE, False)
    review.gate(Review(DB_ROOT, DB_ROOT_CS, "UPDATE", "123456789012", "us-east-1", rows))


def test_a_database_whose_subnet_group_is_replaced_may_be_replaced_and_is_blocked(
        cloudformation, microservices_dev):
    """A new subnet group has a new name, which the instance's DBSubnetGroupName reads."""
    old = microservices_dev
    new = changed(old, ("DatabaseStack",), "DatabaseSubnetGroup", "DBSubnetGroupName", "tap-dev-database")
    renamed = resource_change(
        "Modify", "DatabaseSubnetGroup", "AWS::RDS::DBSubnetGroup",
        physical_id="tap-microservices-dev-databasesubnetgroup-1abc", replacement="True",
        details=[detail("DBSubnetGroupName", "Always", "Static", "DirectModification")])
    rows = review.build_rows(database_tree(cloudformation, subnet_group=renamed), new.get, old.get, {},
                             frozenset())
    database = by_address(rows)["DatabaseStack/Database"]
    assert (database.reconciled, database.replacement, database.lost) == ("", "Conditional", True)
    assert database.fate.startswith("may be replaced")
    with pytest.raises(GateRefused):
        review.gate(Review(DB_ROOT, DB_ROOT_CS, "UPDATE", "123456789012", "us-east-1", rows))


@pytest.mark.parametrize("replacement, name, value", [
    ("False", "MapPublicIpOnLaunch", False),  # a subnet updated in place keeps its id
    ("True", "CidrBlock", "10.10.200.0/24"),  # a new subnet: the subnet group is updated in place
])
def test_a_database_behind_changed_subnets_keeps_its_subnet_group(cloudformation, microservices_dev,
                                                                   replacement, name, value):
    """The instance reads its subnet group's name, which no subnet change alters."""
    old = microservices_dev
    new = changed(old, ("NetworkStack",), "PrivateSubnetA", name, value)
    tree = database_tree(cloudformation, network_change(replacement, name, str(value)))
    rows = review.build_rows(tree, new.get, old.get, {}, frozenset())
    assert by_address(rows)["DatabaseStack/Database"].reconciled == review.UNCHANGED_SOURCE
    subnet_group = by_address(rows)["DatabaseStack/DatabaseSubnetGroup"]
    assert subnet_group.reconciled == (review.UNCHANGED_SOURCE if replacement == "False" else "")


SHARD_CS = change_set_arn("tap-20261202-070000-Services027Stack", "00000000-0000-4000-8000-000000000014")


@pytest.mark.parametrize("changed_parameters, reconciled", [
    (frozenset(), review.UNCHANGED_SOURCE),
    (frozenset({"Services027ImageTags"}), ""),
])
def test_a_root_parameter_is_a_source_like_any_other(cloudformation, microservices_dev, changed_parameters,
                                                      reconciled):
    root = change_set("tap-20261202-070000", DB_ROOT_CS, DB_ROOT, stack_arn(DB_ROOT), [
        resource_change("Modify", "Services027Stack", "AWS::CloudFormation::Stack",
                        physical_id=stack_arn(f"{DB_ROOT}-Services027Stack-1ABC"), nested=SHARD_CS,
                        details=[detail("Parameters", "Never", "Static", "ParameterReference",
                                        "Services027ImageTags")]),
    ])
    shard = change_set("tap-20261202-070000-Services027Stack", SHARD_CS, f"{DB_ROOT}-Services027Stack-1ABC",
                          stack_arn(f"{DB_ROOT}-Services027Stack-1ABC"), [
        resource_change("Modify", "CatalogTaskDefinition", "AWS::ECS::TaskDefinition",
                        physical_id="arn:aws:ecs:us-east-1:123456789012:task-definition/catalog:3",
                        replacement="True",
                        details=[detail("ContainerDefinitions", "Always", "Dynamic", "ParameterReference",
                                        "CatalogImageTag")]),
    ], parent=DB_ROOT_CS)
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_change_set", root, {"ChangeSetName": DB_ROOT_CS})
        stubber.add_response("describe_change_set", shard, {"ChangeSetName": SHARD_CS})
        tree = changesets.read_tree(cloudformation, DB_ROOT_CS)
    rows = review.build_rows(tree, microservices_dev.get, microservices_dev.get, {}, changed_parameters)
    assert by_address(rows)["Services027Stack/CatalogTaskDefinition"].reconciled == reconciled


def test_an_arn_read_within_a_stack_stands_while_its_resource_is_updated_in_place(cloudformation,
                                                                                 microservices_dev):
    """A log group's retention changes; the role and the flow log that read its ARN, and the
    role's ARN, are listed as dynamic changes but change nothing."""
    old = microservices_dev
    new = changed(old, ("NetworkStack",), "FlowLogGroup", "RetentionInDays", 30)
    root = change_set("tap-20261202-070000", DB_ROOT_CS, DB_ROOT, stack_arn(DB_ROOT), [
        resource_change("Modify", "NetworkStack", "AWS::CloudFormation::Stack",
                        physical_id=stack_arn(f"{DB_ROOT}-NetworkStack-1ABC"), nested=NETWORK_CS,
                        details=[detail("TemplateURL", "Never", "Static", "DirectModification")]),
    ])
    network = change_set("tap-20261202-070000-NetworkStack", NETWORK_CS, f"{DB_ROOT}-NetworkStack-1ABC",
                         stack_arn(f"{DB_ROOT}-NetworkStack-1ABC"), [
        resource_change("Modify", "FlowLog", "AWS::EC2::FlowLog", physical_id="fl-0a1b2c3d4e5f60718",
                        replacement="Conditional",
                        details=[detail("DeliverLogsPermissionArn", "Always", "Dynamic", "ResourceAttribute",
                                        "FlowLogRole.Arn")]),
        resource_change("Modify", "FlowLogGroup", "AWS::Logs::LogGroup", physical_id="tap-dev-flow-logs",
                        replacement="False",
                        details=[detail("RetentionInDays", "Never", "Static", "DirectModification")]),
        resource_change("Modify", "FlowLogRole", "AWS::IAM::Role", physical_id="tap-dev-FlowLogRole-1ABC",
                        replacement="False",
                        details=[detail("Policies", "Never", "Dynamic", "ResourceAttribute", "FlowLogGroup.Arn")]),
    ], parent=DB_ROOT_CS)
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_change_set", root, {"ChangeSetName": DB_ROOT_CS})
        stubber.add_response("describe_change_set", network, {"ChangeSetName": NETWORK_CS})
        tree = changesets.read_tree(cloudformation, DB_ROOT_CS)
    rows = review.build_rows(tree, new.get, old.get, {}, frozenset())
    made = Review(DB_ROOT, DB_ROOT_CS, "UPDATE", "123456789012", "us-east-1", rows)
    assert [row.address for row in made.real] == ["NetworkStack/FlowLogGroup"]
    assert [row.address for row in made.echoes] == ["NetworkStack/FlowLog", "NetworkStack/FlowLogRole"]


def test_an_imported_table_is_counted_and_named_with_its_data_kept():
    rows = [review.Row("Import", "DatabaseStack/LicensesTable", "AWS::DynamoDB::Table",
                       physical_id="tap-distribution-dev-licenses"),
            review.Row("Add", "DatabaseStack/AnalyticsTable", "AWS::DynamoDB::Table")]
    imported = Review(ROOT, ROOT_CS, "CREATE", "123456789012", "us-east-1", rows)

    review.gate(imported)
    text = review.table(imported)
    assert "2 changes: 1 to add, 1 to import" in text
    assert ("Imported with their data (they exist outside any stack, retained by an earlier one):\n"
            "  DatabaseStack/LicensesTable (AWS::DynamoDB::Table): tap-distribution-dev-licenses") in text
    assert "Left behind" not in text
