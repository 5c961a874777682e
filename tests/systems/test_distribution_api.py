"""Distribution platform, api stack: the REST API."""

from __future__ import annotations

import json

import pytest

from tests.helpers import resources_of_type

ENVS = ["dev", "staging", "prod"]
OPERATOR_ROUTES = {
    ("POST", "/licenses"), ("GET", "/customers/{customerId}/licenses"),
    ("DELETE", "/licenses/{licenseId}"), ("GET", "/customers/{customerId}/usage"),
}
CUSTOMER_ROUTES = {("POST", "/licenses/validate"), ("POST", "/downloads"), ("POST", "/usage")}
ROUTES = OPERATOR_ROUTES | CUSTOMER_ROUTES


@pytest.fixture(scope="module", params=ENVS)
def api(request, built) -> dict:
    return built.template(f"distribution/{request.param}", "api")


def path_of(api: dict, resource_ref: dict) -> str:
    parts = []
    while isinstance(resource_ref, dict) and "Ref" in resource_ref:
        resource = api["Resources"][resource_ref["Ref"]]["Properties"]
        parts.append(resource["PathPart"])
        resource_ref = resource["ParentId"]
    return "/" + "/".join(reversed(parts))


def methods(api: dict) -> dict[tuple[str, str], dict]:
    return {
        (m["Properties"]["HttpMethod"], path_of(api, m["Properties"]["ResourceId"])): m["Properties"]
        for m in resources_of_type(api, "AWS::ApiGateway::Method").values()
    }


def test_every_route_exists(api):
    assert set(methods(api)) == ROUTES


def test_operator_routes_take_iam_authorization_and_no_api_key(api):
    found = methods(api)
    for route in OPERATOR_ROUTES:
        assert (found[route]["AuthorizationType"], found[route]["ApiKeyRequired"]) == ("AWS_IAM", False), route


def test_customer_routes_take_an_api_key_and_nothing_else(api):
    found = methods(api)
    for route in CUSTOMER_ROUTES:
        assert (found[route]["AuthorizationType"], found[route]["ApiKeyRequired"]) == ("NONE", True), route


def test_no_api_key_is_made_by_the_template(api):
    """Keys are made per customer (with their customerId); an operator key would reach every
    customer route for every customer."""
    assert not resources_of_type(api, "AWS::ApiGateway::ApiKey")
    assert not resources_of_type(api, "AWS::ApiGateway::UsagePlanKey")
    assert "OperatorApiKeyId" not in api["Outputs"]


def test_routes_go_to_the_right_function_by_proxy_integration(api):
    for (verb, path), method in methods(api).items():
        integration = method["Integration"]
        assert (integration["Type"], integration["IntegrationHttpMethod"]) == ("AWS_PROXY", "POST")
        function = integration["Uri"]["Fn::Sub"][1]["Function"]["Ref"]
        expected = "UsageTrackingFunctionArn" if "usage" in path else "LicenseApiFunctionArn"
        assert function == expected, (verb, path)


def test_bodies_are_validated_against_json_schema_models(api):
    found = methods(api)
    for key, method in found.items():
        validator = api["Resources"][method["RequestValidatorId"]["Ref"]]["Properties"]
        if key[0] == "POST":
            model = api["Resources"][method["RequestModels"]["application/json"]["Ref"]]["Properties"]
            assert model["Schema"]["additionalProperties"] is False
            assert model["Schema"]["required"]
            assert validator["ValidateRequestBody"] is True
        else:
            assert "RequestModels" not in method
        assert validator["ValidateRequestParameters"] is True


def test_path_parameters_are_required(api):
    found = methods(api)
    assert found[("DELETE", "/licenses/{licenseId}")]["RequestParameters"] == {
        "method.request.path.licenseId": True
    }


def test_usage_event_type_is_one_of_the_known_types(api):
    model = api["Resources"]["ApiUsageEventModel"]["Properties"]["Schema"]
    assert model["properties"]["eventType"]["enum"] == ["download", "install", "activate", "heartbeat"]


def test_stage_has_json_access_logs_tracing_and_throttling(api):
    (stage,) = resources_of_type(api, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    log_format = json.loads(props["AccessLogSetting"]["Format"])
    assert log_format["requestId"] == "$context.requestId"
    assert "$context.identity.apiKey" not in log_format.values()  # the key's value, never logged
    assert log_format["apiKeyId"] == "$context.identity.apiKeyId"
    assert props["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}
    (setting,) = props["MethodSettings"]
    assert setting["ThrottlingRateLimit"] > 0 and setting["ThrottlingBurstLimit"] > 0
    assert setting["DataTraceEnabled"] is False


def test_lambda_permissions_are_scoped_to_one_method_and_path(api):
    permissions = resources_of_type(api, "AWS::Lambda::Permission")
    assert len(permissions) == len(ROUTES)
    arns = sorted(p["Properties"]["SourceArn"]["Fn::Sub"][0].split("${Api}/")[1]
                  for p in permissions.values())
    assert arns == sorted(["v1/POST/licenses", "v1/GET/customers/*/licenses", "v1/POST/licenses/validate",
                           "v1/DELETE/licenses/*", "v1/POST/downloads", "v1/POST/usage",
                           "v1/GET/customers/*/usage"])
    assert all(p["Properties"]["Principal"] == "apigateway.amazonaws.com" for p in permissions.values())


def test_usage_plans_set_throttle_and_quota_from_config(built):
    prod = built.template("distribution/prod", "api")
    plans = {
        p["Properties"]["Description"].split(":")[0]: p["Properties"]
        for p in resources_of_type(prod, "AWS::ApiGateway::UsagePlan").values()
    }
    assert sorted(plans) == ["partner", "standard"]
    assert plans["partner"]["Throttle"] == {"BurstLimit": 200, "RateLimit": 100.0}
    assert plans["partner"]["Quota"] == {"Limit": 5000000, "Period": "MONTH"}


def test_gateway_errors_answer_json(api):
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in resources_of_type(api, "AWS::ApiGateway::GatewayResponse").values()}
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    assert '"error":"forbidden"' in responses["INVALID_API_KEY"]["ResponseTemplates"]["application/json"]
    assert set(responses) >= {"BAD_REQUEST_BODY", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"}
