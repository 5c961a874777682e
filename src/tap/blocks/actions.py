"""The IAM action lists behind every grant, in one place so they can be reviewed together."""

from awacs import dynamodb, kms, logs, s3, secretsmanager, xray

S3_READ = (s3.GetObject, s3.GetObjectVersion)
S3_WRITE = (s3.PutObject, s3.AbortMultipartUpload)
S3_LIST = (s3.ListBucket,)

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

KMS_DECRYPT = (kms.Decrypt,)
KMS_ENCRYPT = (kms.Encrypt, kms.GenerateDataKey, kms.Decrypt)

LOGS_WRITE = (logs.CreateLogStream, logs.PutLogEvents)
# Lambda@Edge replicas create their own log group in whichever region runs them.
LOGS_CREATE_AND_WRITE = (logs.CreateLogGroup, logs.CreateLogStream, logs.PutLogEvents)

# X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level
# permissions: the only valid Resource is "*".
XRAY_WRITE = (xray.PutTraceSegments, xray.PutTelemetryRecords)
