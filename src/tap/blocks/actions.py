"""The IAM action lists behind every grant, in one place so they can be reviewed together."""

from awacs import apigateway, dynamodb, logs, s3, secretsmanager, xray

S3_READ = (s3.GetObject, s3.GetObjectVersion)
S3_WRITE = (s3.PutObject, s3.AbortMultipartUpload)

DYNAMODB_READ = (
    dynamodb.GetItem,
    dynamodb.BatchGetItem,
    dynamodb.Query,
    dynamodb.ConditionCheckItem,
    dynamodb.DescribeTable,
)
DYNAMODB_WRITE = (
    dynamodb.PutItem,
    dynamodb.UpdateItem,
    dynamodb.DeleteItem,
    dynamodb.BatchWriteItem,
)
# TransactWriteItems is authorised per item through the write actions above;
# no separate action exists for it.
DYNAMODB_GET = (dynamodb.GetItem,)
DYNAMODB_QUERY = (dynamodb.Query,)
DYNAMODB_PUT_AND_UPDATE = (dynamodb.PutItem, dynamodb.UpdateItem)

SECRET_READ = (secretsmanager.GetSecretValue,)

# API Gateway's control plane authorises by HTTP verb on a resource path:
# GET on /apikeys/<id> reads a key (its customerId), never its value unless asked.
APIGATEWAY_READ = (apigateway.GET,)

LOGS_WRITE = (logs.CreateLogStream, logs.PutLogEvents)
# Lambda@Edge replicas create their own log group in whichever region runs them.
LOGS_CREATE_AND_WRITE = (logs.CreateLogGroup, logs.CreateLogStream, logs.PutLogEvents)

# X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level
# permissions: the only valid Resource is "*".
XRAY_WRITE = (xray.PutTraceSegments, xray.PutTelemetryRecords)

# --- containers and CI/CD (microservices) ------------------------------------

from awacs import (  # noqa: E402  (kept with the lists that use them, for clean merges)
    codebuild,
    codeconnections,
    codepipeline,
    codestar_connections,
    ecr,
    ecs,
    iam,
)
from awacs import s3 as _s3  # noqa: E402

# ecr:GetAuthorizationToken has no resource-level permissions: the only valid
# Resource is "*". The token alone grants nothing; pull and push are scoped
# to repositories by the lists below.
ECR_AUTHORIZE = (ecr.GetAuthorizationToken,)
ECR_PULL = (ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage)
ECR_PUSH = ECR_PULL + (
    ecr.InitiateLayerUpload,
    ecr.UploadLayerPart,
    ecr.CompleteLayerUpload,
    ecr.PutImage,
)

# What CodePipeline and CodeBuild need on the artefact bucket itself (not
# its objects): CodePipeline checks versioning, both look up its region.
S3_PIPELINE_BUCKET = (_s3.GetBucketVersioning, _s3.GetBucketLocation)
S3_BUILD_BUCKET = (_s3.GetBucketAcl, _s3.GetBucketLocation)

CODEBUILD_RUN = (codebuild.StartBuild, codebuild.BatchGetBuilds)
# A GitHub connection is used under both service prefixes (the service was
# renamed from CodeStar Connections to CodeConnections).
CONNECTION_USE = (codeconnections.UseConnection, codestar_connections.UseConnection)

ECS_UPDATE_SERVICE = (ecs.DescribeServices, ecs.UpdateService)
# ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition have no
# resource-level permissions: the only valid Resource is "*".
ECS_TASK_DEFINITIONS = (ecs.RegisterTaskDefinition, ecs.DescribeTaskDefinition)

# The ECS deploy action watches the tasks of the deployment it starts.
ECS_WATCH_TASKS = (ecs.DescribeTasks,)
# ecs:ListTasks authorises on the cluster only through the ecs:cluster
# condition key; its Resource must be "*".
ECS_LIST_TASKS = (ecs.ListTasks,)
# Tags of the task definition, copied onto each revision the deploy action registers.
ECS_TAG_ON_CREATE = (ecs.TagResource,)

IAM_PASS_ROLE = (iam.PassRole,)

PIPELINE_START = (
    codepipeline.StartPipelineExecution,
    codepipeline.GetPipelineExecution,
    codepipeline.GetPipelineState,
)

# --- the deploy tool (./deploy.sh), for the bootstrap's GitHub roles ---------
# Each list is what one step of a deploy calls; tests/deploy/test_deploy_role_grants.py
# records the calls against the emulator and proves the roles allow exactly these.

from awacs import acm, cloudformation  # noqa: E402
from awacs import dynamodb as _dynamodb  # noqa: E402

# The stack as it stands and its tree of nested stacks, with their templates.
DEPLOY_READ_STACKS = (
    cloudformation.DescribeStacks,
    cloudformation.ListStackResources,
    cloudformation.GetTemplate,
)
# A change set of the root and its nested change sets, read back, deleted when empty.
DEPLOY_PLAN = (
    cloudformation.CreateChangeSet,
    cloudformation.DescribeChangeSet,
    cloudformation.DeleteChangeSet,
)
# Executing a reviewed change set: stack policies, execution, events, termination protection.
DEPLOY_EXECUTE = (
    cloudformation.ExecuteChangeSet,
    cloudformation.SetStackPolicy,
    cloudformation.DescribeStackEvents,
    cloudformation.UpdateTerminationProtection,
)
# HeadBucket is authorised as s3:ListBucket, HeadObject as s3:GetObject.
DEPLOY_FIND_BUCKET = (_s3.ListBucket,)
DEPLOY_READ_ARTIFACTS = (_s3.GetObject,)
DEPLOY_UPLOAD_ARTIFACTS = (_s3.PutObject,)
# Pre-flight questions: does the image, certificate, named table, GitHub provider exist?
DEPLOY_CHECK_IMAGES = (ecr.DescribeImages,)
# The image each service runs now (tap.deploy.images): its service, then its task definition.
DEPLOY_READ_SERVICES = (ecs.DescribeServices,)
DEPLOY_READ_TASK_DEFINITIONS = (ecs.DescribeTaskDefinition,)
DEPLOY_CHECK_CERTIFICATES = (acm.DescribeCertificate,)
DEPLOY_CHECK_TABLES = (_dynamodb.DescribeTable,)
DEPLOY_LIST_OIDC_PROVIDERS = (iam.ListOpenIDConnectProviders,)
