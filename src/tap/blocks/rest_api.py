"""API Gateway REST APIs fronting Lambda functions (proxy integration).

Secure defaults: an API key on every method (or IAM authorization, SigV4, on
a route that asks for it), request validation (JSON-schema
models for bodies, required path parameters), JSON access logs that never
contain a key's value, X-Ray tracing, stage-wide throttling, JSON error
bodies for gateway errors, and Lambda permissions scoped to one method and
path of this API's stage. The deployment's logical id carries a hash of the
API definition, because CloudFormation only redeploys a REST API when the
deployment resource itself is new.

Usage: `api = RestApi(...)`; `api.route(Route(...))` for each route; then
`api.deploy()` once; then `api.usage_plan(...)` and `api.api_key(...)`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, Sub, apigateway, awslambda

from tap.blocks.arns import arn
from tap.blocks.lifecycle import suppress
from tap.blocks.logs import log_group
from tap.cfnvalue import CfnValue
from tap.stacktree import Stack, camel

# Each line is one JSON object per request. $context.identity.apiKeyId is the
# key's id; the key's value ($context.identity.apiKey) is never logged.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "apiKeyId": "$context.identity.apiKeyId",
        "error": "$context.error.message",
        "xrayTraceId": "$context.xrayTraceId",
    },
    separators=(",", ":"),
)

# Gateway-made errors answer in the same {"error", "message"} shape as the functions.
GATEWAY_ERRORS = {
    "BAD_REQUEST_BODY": (
        "400", '{"error":"invalid_body","message":"$context.error.validationErrorString"}'
    ),
    "BAD_REQUEST_PARAMETERS": (
        "400", '{"error":"invalid_parameters","message":"$context.error.validationErrorString"}'
    ),
    "INVALID_API_KEY": (
        "403", '{"error":"forbidden","message":"a valid x-api-key header is required"}'
    ),
    "MISSING_AUTHENTICATION_TOKEN": (
        "404", '{"error":"not_found","message":"no such route or method"}'
    ),
    "QUOTA_EXCEEDED": ("429", '{"error":"quota_exceeded","message":$context.error.messageString}'),
    "THROTTLED": ("429", '{"error":"throttled","message":$context.error.messageString}'),
    "DEFAULT_4XX": (None, '{"error":"client_error","message":$context.error.messageString}'),
    "DEFAULT_5XX": (None, '{"error":"server_error","message":"internal error"}'),
}


class JsonSchemaModel(apigateway.Model):
    """A Model whose Schema stays a JSON object in the template. troposphere would turn
    it into a string (with unsorted keys), which reviews badly in diffs."""

    def validate(self) -> None:
        pass


@dataclass(frozen=True)
class Route:
    """One method on one path, served by a Lambda function."""

    method: str
    path: str
    function_arn: CfnValue
    body_schema: dict | None = None  # JSON schema (draft 4) of the request body
    model_name: str | None = None
    iam_auth: bool = False  # SigV4-signed IAM principals instead of an API key

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)

    @property
    def source_arn_path(self) -> str:
        """The path as execute-api ARNs write it: parameters become wildcards."""
        return re.sub(r"\{\w+\}", "*", self.path)


def _segment_id(segment: str) -> str:
    return camel(re.sub(r"[{}]", "", segment).replace("_", "-"))


class RestApi:
    """A regional REST API; see the module docstring for what it guarantees."""

    def __init__(
        self,
        stack: Stack,
        logical_id: str,
        *,
        description: str,
        stage_name: str,
        throttle_rate_limit: float,
        throttle_burst_limit: int,
        access_log_retention_days: int,
    ):
        self.stack = stack
        self.logical_id = logical_id
        self.stage_name = stage_name
        self.throttle = (throttle_rate_limit, throttle_burst_limit)
        self.access_log_retention_days = access_log_retention_days
        self.api = stack.add(
            apigateway.RestApi(
                logical_id,
                Name=Ref("AWS::StackName"),
                Description=description,
                ApiKeySourceType="HEADER",
                EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
            )
        )
        self.definition: list[Any] = []  # everything a deployment must capture
        self.methods: list[apigateway.Method] = []
        self._resources: dict[str, Any] = {}
        self._body_validator = self._add(
            apigateway.RequestValidator(
                f"{logical_id}BodyValidator", RestApiId=Ref(self.api),
                ValidateRequestBody=True, ValidateRequestParameters=True,
            )
        )
        self._parameter_validator = self._add(
            apigateway.RequestValidator(
                f"{logical_id}ParameterValidator", RestApiId=Ref(self.api),
                ValidateRequestBody=False, ValidateRequestParameters=True,
            )
        )
        self._add_gateway_responses()
        self.stage: apigateway.Stage | None = None

    @property
    def id(self) -> Ref:
        return Ref(self.api)

    @property
    def url(self) -> Sub:
        return Sub(
            "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + self.stage_name,
            Api=Ref(self.api),
        )

    def _add(self, resource: Any) -> Any:
        self.definition.append(resource)
        return self.stack.add(resource)

    def _add_gateway_responses(self) -> None:
        for response_type, (status, body) in GATEWAY_ERRORS.items():
            response = apigateway.GatewayResponse(
                f"{self.logical_id}{camel(response_type.lower().replace('_', '-'))}Response",
                RestApiId=Ref(self.api),
                ResponseType=response_type,
                ResponseTemplates={"application/json": body},
                ResponseParameters={
                    "gatewayresponse.header.Content-Type": "'application/json'",
                },
            )
            if status is not None:
                response.StatusCode = status
            self._add(response)

    def _resource_for(self, path: str) -> Any:
        """The API Gateway resource of `path`, creating its parents as needed."""
        if path == "/":
            return GetAtt(self.api, "RootResourceId")
        if path not in self._resources:
            parent_path, _, segment = path.rpartition("/")
            parent = self._resource_for(parent_path or "/")
            logical_id = "".join(_segment_id(part) for part in path.strip("/").split("/"))
            self._resources[path] = Ref(
                self._add(
                    apigateway.Resource(
                        f"{self.logical_id}{logical_id}Resource",
                        RestApiId=Ref(self.api),
                        ParentId=parent,
                        PathPart=segment,
                    )
                )
            )
        return self._resources[path]

    def route(self, route: Route) -> apigateway.Method:
        if self.stage is not None:
            raise RuntimeError("add every route before deploy()")
        resource = self._resource_for(route.path)
        path_id = "".join(_segment_id(part) for part in route.path.strip("/").split("/"))
        method = apigateway.Method(
            f"{self.logical_id}{path_id}{route.method.capitalize()}Method",
            RestApiId=Ref(self.api),
            ResourceId=resource,
            HttpMethod=route.method,
            AuthorizationType="AWS_IAM" if route.iam_auth else "NONE",
            ApiKeyRequired=not route.iam_auth,
            Integration=apigateway.Integration(
                Type="AWS_PROXY",
                IntegrationHttpMethod="POST",
                # API Gateway's service-integration ARN: "lambda" where an account would be.
                Uri=arn(
                    "apigateway", "path/2015-03-31/functions/${Function}/invocations",
                    account="lambda", Function=route.function_arn,
                ),
            ),
        )
        if route.path_parameters:
            method.RequestParameters = {
                f"method.request.path.{name}": True for name in route.path_parameters
            }
        if route.body_schema is not None:
            model = self._add(
                JsonSchemaModel(
                    f"{self.logical_id}{route.model_name}Model",
                    RestApiId=Ref(self.api),
                    Name=route.model_name,
                    ContentType="application/json",
                    Schema=route.body_schema,
                )
            )
            method.RequestModels = {"application/json": Ref(model)}
            method.RequestValidatorId = Ref(self._body_validator)
        else:
            method.RequestValidatorId = Ref(self._parameter_validator)
        self.methods.append(self._add(method))
        self._permit(route, path_id)
        return method

    def _permit(self, route: Route, path_id: str) -> None:
        self.stack.add(
            awslambda.Permission(
                f"{self.logical_id}{path_id}{route.method.capitalize()}Permission",
                Action="lambda:InvokeFunction",
                FunctionName=route.function_arn,
                Principal="apigateway.amazonaws.com",
                SourceArn=arn(
                    "execute-api", f"${{Api}}/{self.stage_name}/{route.method}{route.source_arn_path}",
                    Api=Ref(self.api),
                ),
            )
        )

    def definition_hash(self) -> str:
        material = json.dumps([item.to_dict() for item in self.definition], sort_keys=True)
        return hashlib.sha256(material.encode()).hexdigest()[:12]

    def deploy(self) -> apigateway.Stage:
        """Deploy every route to the stage; call once, after the last route."""
        deployment = self.stack.add(
            apigateway.Deployment(
                f"{self.logical_id}Deployment{self.definition_hash()}",
                RestApiId=Ref(self.api),
                Description="Routes as of this template",
                DependsOn=[method.title for method in self.methods],
            )
        )
        access_logs = log_group(
            self.stack, f"{self.logical_id}AccessLogs", self.access_log_retention_days
        )
        rate, burst = self.throttle
        stage = apigateway.Stage(
            f"{self.logical_id}Stage",
            RestApiId=Ref(self.api),
            DeploymentId=Ref(deployment),
            StageName=self.stage_name,
            TracingEnabled=True,
            AccessLogSetting=apigateway.AccessLogSetting(
                DestinationArn=access_logs.ref.arn, Format=ACCESS_LOG_FORMAT
            ),
            MethodSettings=[
                apigateway.MethodSetting(
                    ResourcePath="/*",
                    HttpMethod="*",
                    ThrottlingRateLimit=rate,
                    ThrottlingBurstLimit=burst,
                    MetricsEnabled=True,
                    LoggingLevel="ERROR",
                    DataTraceEnabled=False,  # data traces would log request bodies
                )
            ],
        )
        suppress(
            stage,
            CKV_AWS_120="Answers are per request (licence checks, signed URLs); caching them "
            "would serve one caller's answer to another.",
        )
        self.stage = self.stack.add(stage)
        return self.stage

    def usage_plan(
        self, logical_id: str, *, rate_limit: float, burst_limit: int, quota_limit: int,
        quota_period: str, description: str,
    ) -> apigateway.UsagePlan:
        if self.stage is None:
            raise RuntimeError("deploy() before adding usage plans")
        return self.stack.add(
            apigateway.UsagePlan(
                logical_id,
                Description=description,
                ApiStages=[apigateway.ApiStage(ApiId=Ref(self.api), Stage=Ref(self.stage))],
                Throttle=apigateway.ThrottleSettings(RateLimit=rate_limit, BurstLimit=burst_limit),
                Quota=apigateway.QuotaSettings(Limit=quota_limit, Period=quota_period),
            )
        )

    def api_key(self, logical_id: str, plan: apigateway.UsagePlan, description: str) -> apigateway.ApiKey:
        """A key (its value generated by API Gateway, never in the template) on `plan`."""
        key = self.stack.add(apigateway.ApiKey(logical_id, Enabled=True, Description=description))
        self.stack.add(
            apigateway.UsagePlanKey(
                f"{logical_id}PlanKey", KeyId=Ref(key), KeyType="API_KEY", UsagePlanId=Ref(plan)
            )
        )
        return key
