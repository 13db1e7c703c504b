"""AWS's limits, naming rules and reserved names that ebdemo checks, in one dependency-free module.

The config validation and the emulator both enforce these (the emulator refuses what
AWS refuses), so they live where either can import them without pulling in the other's
dependencies (pydantic and YAML for the config; moto for the emulator). The regular
expressions are written for both Python's `re` and the JSON Schema (ECMA 262) dialect:
ASCII classes only, anchored at both ends.
"""

from __future__ import annotations

import re

# -- names, checked on the *physical* names (stack prefix included) ----------------------------
STACK_RE = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"  # the intersection of every service's alphabet
FUNCTION_NAME_RE = r"^[A-Za-z0-9_-]+$"  # Lambda function name
RULE_NAME_RE = r"^[A-Za-z0-9._-]+$"  # EventBridge rule name
BUS_NAME_RE = r"^[A-Za-z0-9._-]+$"  # EventBridge custom bus (no '/': that is for partner buses)
TOPIC_NAME_RE = r"^[A-Za-z0-9_-]+$"  # SNS standard topic
ROLE_NAME_RE = r"^[A-Za-z0-9_+=,.@-]+$"  # IAM role name
QUEUE_NAME_RE = r"^[A-Za-z0-9_-]+$"  # SQS standard queue (no .fifo: a DLQ must be standard)
EMAIL_RE = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
REGION_RE = r"^[a-z]{2,4}(-[a-z]+)+-[0-9]+$"  # us-east-1, us-gov-west-1, eusc-de-east-1
ENV_KEY_RE = r"^[A-Za-z][A-Za-z0-9_]+$"  # Lambda: a letter first, two characters at least
HANDLER_RE = r"^[^\s]+\.[A-Za-z_][A-Za-z0-9_]*$"  # module.function
SCHEDULE_NAME_RE = r"^[0-9A-Za-z._-]+$"  # EventBridge Scheduler schedule and schedule group
ARCHIVE_NAME_RE = r"^[A-Za-z0-9._-]+$"  # EventBridge archive

FUNCTION_NAME_MAX = ROLE_NAME_MAX = RULE_NAME_MAX = 64
BUS_NAME_MAX = TOPIC_NAME_MAX = 256
QUEUE_NAME_MAX = 80
HANDLER_MAX = 128
FUNCTION_DESCRIPTION_MAX = 256
RULE_DESCRIPTION_MAX = 512
SOURCE_MAX = 256  # PutEvents Source
SCHEDULE_NAME_MAX = SCHEDULE_GROUP_NAME_MAX = 64  # CreateSchedule Name, CreateScheduleGroup
ARCHIVE_NAME_MAX = 48  # CreateArchive ArchiveName
SCHEDULE_EXPRESSION_MAX = 256  # PutRule and CreateSchedule ScheduleExpression
SCHEDULE_DESCRIPTION_MAX = ARCHIVE_DESCRIPTION_MAX = 512
FLEXIBLE_WINDOW_MINUTES = (1, 1440)  # FlexibleTimeWindow.MaximumWindowInMinutes
DETAIL_TYPE_MAX = 128  # PutEvents DetailType

# -- regions and partitions (botocore's partitions.json; a test keeps these in step) -----------
SHORTEST_REGION_LEN = len("us-east-1")
LONGEST_REGION = "us-isof-south-1"  # the longest name, and the longest with its partition
PARTITIONS = (
    ("aws-cn", r"^cn-[a-z]+-[0-9]+$"),
    ("aws-us-gov", r"^us-gov-[a-z]+-[0-9]+$"),
    ("aws-iso", r"^us-iso-[a-z]+-[0-9]+$"),
    ("aws-iso-b", r"^us-isob-[a-z]+-[0-9]+$"),
    ("aws-iso-e", r"^eu-isoe-[a-z]+-[0-9]+$"),
    ("aws-iso-f", r"^us-isof-[a-z]+-[0-9]+$"),
    ("aws-eusc", r"^eusc-de-[a-z]+-[0-9]+$"),
)
ACCOUNT_ID_LEN = 12  # every AWS account id has exactly 12 digits
ACCOUNT_PLACEHOLDER = "0" * ACCOUNT_ID_LEN  # stands in for it wherever only lengths count

# A stack name longer than this leaves no room for the shortest IAM role name,
# `<stack>-<f>-<region>`, in the region with the shortest name.
STACK_MAX = ROLE_NAME_MAX - len("-x-") - SHORTEST_REGION_LEN

# -- quotas --------------------------------------------------------------------------------------
LAMBDA_ENV_MAX_BYTES = 4096  # the JSON text of all of a function's variables together
LAMBDA_POLICY_MAX_BYTES = 20 * 1024  # a function's resource-based policy, as GetPolicy returns it
LAMBDA_UNZIPPED_MAX = 250 * 2**20  # a deployment package, unzipped
LAMBDA_TIMEOUT_RANGE = (1, 900)  # seconds
LAMBDA_MEMORY_RANGE = (128, 10240)  # MB
PATTERN_MAX_CHARS = 4096  # PutRule EventPattern
PATTERN_MAX_DEPTH = 64
MAX_TARGETS_PER_RULE = 5  # EventBridge quota
SQS_VISIBILITY_RANGE = (0, 43_200)  # seconds (12 h); SQS's default is 30 s
SQS_RETENTION_RANGE = (60, 1_209_600)  # seconds (1 min .. 14 d); SQS's default is 4 d
TARGET_RETRY_ATTEMPTS_RANGE = (0, 185)  # EventBridge RetryPolicy (Scheduler: the same)
TARGET_MAX_AGE_RANGE = (60, 86_400)  # seconds; both default to the maximum
LAMBDA_ASYNC_RETRIES_RANGE = (0, 2)  # PutFunctionEventInvokeConfig; default 2
LAMBDA_ASYNC_MAX_AGE_RANGE = (60, 21_600)  # seconds; default 6 h

RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
ARCHITECTURES = ("x86_64", "arm64")  # Lambda's instruction set architectures
LAYERS_MAX = 5  # layers attached to one function
LAYER_NAME_MAX = 140  # PublishLayerVersion LayerName (a name, not an ARN)
LAYER_NAME_RE = r"^[A-Za-z0-9_-]+$"
LAYER_DESCRIPTION_MAX = 256
# A layer version's ARN, as CreateFunction's Layers takes it (Lambda's own pattern, anchored)
LAYER_VERSION_ARN_RE = (
    r"^arn:[A-Za-z0-9-]+:lambda:[A-Za-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$"
)
ROLE_POLICY_MAX_CHARS = 10240  # a role's inline policies together, whitespace not counted
# IAM policy grammar: `service:Action` (wildcards allowed in the action) or `*`
IAM_ACTION_RE = r"^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$"
# `*`, or arn:partition:service:region:account:resource (wildcards allowed in every part;
# region and account may be empty, as for S3 and IAM; `aws` is the account of AWS's policies)
IAM_RESOURCE_RE = (
    r"^(\*|arn:[A-Za-z0-9*?-]+:[A-Za-z0-9*?-]+:[A-Za-z0-9*?-]*:([0-9*?]*|aws):.+)$"
)

# Lambda sets these itself; a function may not override them.
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def partition(region: str) -> str:
    """The ARN partition of a region (`aws` unless it belongs to another partition)."""
    for name, pattern in PARTITIONS:
        if re.match(pattern, region):
            return name
    return "aws"
