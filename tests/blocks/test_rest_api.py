"""RestApi: the deployment is redeployed exactly when the API definition changes."""

from __future__ import annotations

from tap.blocks.rest_api import RestApi, Route
from tap.stacktree import Stack
from tests.helpers import as_dict, resources_of_type

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}


def deployment_of(routes: list[Route], stage_name: str = "v1", rate: float = 10) -> str:
    stack = Stack.root("root", "api")
    api = RestApi(stack, "Api", description="d", stage_name=stage_name, throttle_rate_limit=rate,
                  throttle_burst_limit=20, access_log_retention_days=30)
    for route in routes:
        api.route(route)
    api.deploy()
    (logical_id,) = resources_of_type(as_dict(stack), "AWS::ApiGateway::Deployment")
    return logical_id


BASE = [Route("POST", "/things", "fn-arn", SCHEMA, "Thing"), Route("GET", "/things/{id}", "fn-arn")]


def test_same_definition_same_deployment():
    assert deployment_of(BASE) == deployment_of(list(BASE))


def test_a_new_route_makes_a_new_deployment():
    assert deployment_of(BASE) != deployment_of(BASE + [Route("DELETE", "/things/{id}", "fn-arn")])


def test_a_changed_model_makes_a_new_deployment():
    stricter = dict(SCHEMA, additionalProperties=False)
    changed = [Route("POST", "/things", "fn-arn", stricter, "Thing"), BASE[1]]
    assert deployment_of(BASE) != deployment_of(changed)


def test_stage_settings_do_not_redeploy():
    assert deployment_of(BASE, rate=10) == deployment_of(BASE, rate=50)


def test_schema_stays_a_json_object():
    stack = Stack.root("root", "api")
    api = RestApi(stack, "Api", description="d", stage_name="v1", throttle_rate_limit=1,
                  throttle_burst_limit=1, access_log_retention_days=30)
    api.route(BASE[0])
    api.deploy()
    model = as_dict(stack)["Resources"]["ApiThingModel"]["Properties"]
    assert model["Schema"] == SCHEMA


def test_resources_are_shared_between_routes_on_one_path():
    stack = Stack.root("root", "api")
    api = RestApi(stack, "Api", description="d", stage_name="v1", throttle_rate_limit=1,
                  throttle_burst_limit=1, access_log_retention_days=30)
    for route in BASE + [Route("DELETE", "/things/{id}", "fn-arn")]:
        api.route(route)
    api.deploy()
    paths = sorted(r["Properties"]["PathPart"]
                   for r in resources_of_type(as_dict(stack), "AWS::ApiGateway::Resource").values())
    assert paths == ["things", "{id}"]
