"""The local cloud's Lambda runtime, used as AWS Lambda is: through boto3 ``lambda.invoke``."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import threading
import time
import types

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from conftest import eventually, in_process_cloud
from helpers.clients import LOCAL_CREDENTIALS
from helpers.lambdas import package_functions
from localcloud.lambda_runtime import LambdaRuntime
from stand_in import zip_of

REGION = "eu-west-1"

APP = '''
import json, os, sys, time
COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    print("invocation", COUNT)
    return {
        "count": COUNT, "pid": os.getpid(), "event": event,
        "request_id": context.aws_request_id, "function_name": context.function_name,
        "memory": context.memory_limit_in_mb, "arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
                 "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "LAMBDA_TASK_ROOT",
                 "AWS_LAMBDA_LOG_GROUP_NAME", "GREETING")},
        "cwd": os.getcwd(),
    }

def sleepy(event, context):
    time.sleep(event.get("sleep", 0))
    return {"slept": event.get("sleep", 0), "pid": os.getpid()}

def crash(event, context):
    raise ValueError("the handler failed on purpose")

def exit_hard(event, context):
    os._exit(3)

def tables(event, context):
    import boto3
    return boto3.client("dynamodb").list_tables()["TableNames"]

def sized(event, context):
    return "x" * event["size"]
'''


@pytest.fixture
def lam(clients):
    return clients.client("lambda", REGION)


@pytest.fixture
def role(clients, unique) -> str:
    return clients.client("iam").create_role(RoleName=f"runtime-test-{unique}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


@pytest.fixture
def make_function(lam, role, unique):
    """Create a function from APP (or given code) and return its name; deleted afterwards."""
    created = []

    def make(handler: str = "app.handler", code: bytes | None = None, **settings) -> str:
        name = f"rt-{unique}-{len(created)}"
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler=handler,
                            Code={"ZipFile": code or zip_of({"app.py": APP})}, **settings)
        created.append(name)
        return name

    yield make
    for name in created:
        lam.delete_function(FunctionName=name)


def invoke(lam, name: str, event: object = None, **kwargs) -> tuple[dict, object]:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}).encode(), **kwargs)
    return response, json.loads(response["Payload"].read())


# ---------------------------------------------------------------------- results
def test_invoke_returns_the_handler_result_with_lambda_context_and_environment(lam, make_function):
    name = make_function(Environment={"Variables": {"GREETING": "hello"}}, MemorySize=256)
    response, result = invoke(lam, name, {"ping": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert result["event"] == {"ping": 1}
    assert result["function_name"] == name
    assert int(result["memory"]) == 256
    assert result["arn"].endswith(f":function:{name}")
    assert 0 < result["remaining_ms"] <= 3000  # default timeout: 3 s
    assert result["env"] == {
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": result["cwd"], "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}", "GREETING": "hello",
    }
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == result["request_id"]


def test_a_result_of_megabytes_comes_back_whole(lam, make_function):
    # Far more than one read of the worker's pipe: the frame is reassembled.
    name = make_function()
    blob = "".join(f"{i:07d}" for i in range(600_000))  # 4.2 MB, under the 6 MB payload limit
    response, result = invoke(lam, name, {"blob": blob})
    assert "FunctionError" not in response
    assert result["event"]["blob"] == blob


def test_warm_environments_are_reused_across_invocations(lam, make_function):
    name = make_function()
    results = [invoke(lam, name)[1] for _ in range(3)]
    assert [r["count"] for r in results] == [1, 2, 3]
    assert len({r["pid"] for r in results}) == 1


def test_concurrent_invocations_get_their_own_environments(lam, make_function):
    name = make_function(handler="app.sleepy")
    results: list[dict] = []

    def call() -> None:
        results.append(invoke(lam, name, {"sleep": 0.5})[1])

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r["pid"] for r in results}) == 2


def test_boto3_inside_the_handler_reaches_the_local_cloud(lam, make_function, clients, unique):
    table = f"runtime-{unique}"
    dynamodb = clients.client("dynamodb", REGION)
    dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    try:
        _, names = invoke(lam, make_function(handler="app.tables"))
        assert table in names
    finally:
        dynamodb.delete_table(TableName=table)


def test_log_tail_frames_the_output_with_start_end_and_report(lam, make_function):
    response, result = invoke(lam, make_function(), LogType="Tail")
    text = base64.b64decode(response["LogResult"]).decode()
    lines = text.splitlines()
    assert lines[0] == f"START RequestId: {result['request_id']} Version: $LATEST"
    assert "invocation 1" in lines
    assert lines[-2] == f"END RequestId: {result['request_id']}"
    assert lines[-1].startswith(f"REPORT RequestId: {result['request_id']}\tDuration: ")
    assert "Init Duration" in lines[-1]  # the first invocation was a cold start


# ----------------------------------------------------------------- updates
def test_an_environment_update_changes_the_health_answer_on_the_next_call(lam, make_function):
    name = make_function(handler="health.handler", code=package_functions(),
                         Environment={"Variables": {"TABLE_NAME": "unused"}})
    event = {"resource": "/health", "path": "/health", "httpMethod": "GET", "requestContext": {"requestId": "r1"}}
    assert invoke(lam, name, event)[1]["statusCode"] == 200
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"TABLE_NAME": "unused", "STATUS": "404"}})
    answer = invoke(lam, name, event)[1]
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {"status": "unhealthy", "region": REGION}


def test_a_code_update_starts_new_environments(lam, make_function):
    name = make_function()
    before = invoke(lam, name)[1]
    lam.update_function_code(FunctionName=name, ZipFile=zip_of({"app.py": APP + "\n# v2\n"}))
    after = invoke(lam, name)[1]
    assert after["count"] == 1 and after["pid"] != before["pid"]


# ------------------------------------------------------------------ errors
def test_the_function_timeout_is_enforced(lam, make_function):
    name = make_function(handler="app.sleepy", Timeout=1)
    started = time.monotonic()
    response, error = invoke(lam, name, {"sleep": 30})
    assert time.monotonic() - started < 10
    assert response["FunctionError"] == "Unhandled"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    _, fine = invoke(lam, name, {"sleep": 0})  # a new environment serves the next request
    assert fine["slept"] == 0


def test_a_handler_exception_gives_the_aws_error_shape(lam, make_function):
    response, error = invoke(lam, make_function(handler="app.crash"))
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "the handler failed on purpose"
    assert any("in crash" in frame for frame in error["stackTrace"])
    assert not any("lambda_worker" in frame for frame in error["stackTrace"])


def test_a_process_exit_gives_runtime_exit_error(lam, make_function):
    response, error = invoke(lam, make_function(handler="app.exit_hard"))
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in error["errorMessage"]


def test_a_missing_handler_module_gives_import_module_error(lam, make_function):
    response, error = invoke(lam, make_function(handler="missing.handler"))
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'missing'" in error["errorMessage"]


def test_reserved_concurrency_zero_throttles_with_too_many_requests(lam, make_function, localcloud_status):
    name = make_function()
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    no_retries = boto3.client("lambda", region_name=REGION, endpoint_url=localcloud_status["aws_endpoint"],
                              aws_access_key_id="testing", aws_secret_access_key="testing",
                              config=botocore.config.Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as raised:
        no_retries.invoke(FunctionName=name, Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName=name)
    assert invoke(lam, name)[0]["StatusCode"] == 200


def test_an_unknown_function_gives_resource_not_found(lam, unique):
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=f"no-such-function-{unique}", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert f"function:no-such-function-{unique}" in raised.value.response["Error"]["Message"]


def test_a_payload_that_is_not_json_is_rejected(lam, make_function):
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=make_function(), Payload=b"{not json")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_a_request_over_6_mb_is_refused_with_413_request_entity_too_large(lam, make_function):
    from awsfacts.awslambda import MAX_SYNC_PAYLOAD_BYTES

    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=make_function(), Payload=json.dumps("x" * MAX_SYNC_PAYLOAD_BYTES).encode())
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_a_response_over_6_mb_becomes_lambdas_function_error_and_one_at_the_limit_is_returned(lam, make_function):
    from awsfacts.awslambda import MAX_SYNC_PAYLOAD_BYTES

    name = make_function(handler="app.sized")
    response, result = invoke(lam, name, {"size": MAX_SYNC_PAYLOAD_BYTES - 2})  # two quotes: exactly 6 MB
    assert "FunctionError" not in response and len(result) == MAX_SYNC_PAYLOAD_BYTES - 2
    response, result = invoke(lam, name, {"size": MAX_SYNC_PAYLOAD_BYTES - 1})
    assert response["FunctionError"] == "Unhandled" and result["errorType"] == "Function.ResponseSizeTooLarge"


def test_event_and_dry_run_invocations_answer_202_and_204(lam, make_function):
    name = make_function()
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204


def test_invocation_logs_reach_cloudwatch_logs(clients, lam, make_function):
    name = make_function()
    _, result = invoke(lam, name)
    logs = clients.client("logs", REGION)
    messages: list[str] = []

    def logged() -> bool:
        try:
            messages[:] = [e["message"] for e in logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]]
        except ClientError:  # the log group appears with the first batch
            return False
        return any(result["request_id"] in m for m in messages)

    eventually(logged, timeout=5)
    assert f"END RequestId: {result['request_id']}" in messages


# --------------------------------------- in-process: the component's interface
@contextlib.contextmanager
def lambda_only_cloud(state_dir):
    """A local cloud in this process with only the Lambda runtime, and a Lambda client and role for it."""
    with in_process_cloud(state_dir, LambdaRuntime) as cloud:
        kwargs = dict(region_name=REGION, endpoint_url=cloud.controlplane.endpoint, **LOCAL_CREDENTIALS)
        name = f"in-process-{time.monotonic_ns()}"  # moto's state is the test process's: names must differ
        role = boto3.client("iam", **kwargs).create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        yield cloud, boto3.client("lambda", **kwargs), role


def test_the_runtime_interface_returns_results_and_raises_for_throttling_and_unknown_functions(tmp_path):
    from localcloud.lambda_runtime import FunctionNotFound, TooManyRequests

    with lambda_only_cloud(tmp_path) as (cloud, lam, role):
        arn = lam.create_function(FunctionName="direct", Runtime="python3.12", Role=role, Handler="app.handler",
                                  Code={"ZipFile": zip_of({"app.py": APP})})["FunctionArn"]
        runtime = cloud.get(LambdaRuntime)
        cold = runtime.invoke(REGION, arn, b'{"x": 1}', request_id="req-1")
        warm = runtime.invoke(REGION, "direct", b"{}")
        assert (cold.status_code, cold.function_error, cold.timed_out) == (200, None, False)
        assert json.loads(cold.payload)["request_id"] == "req-1"
        assert cold.init_duration_ms is not None and warm.init_duration_ms is None
        assert json.loads(warm.payload)["count"] == 2
        assert "START RequestId: req-1" in cold.log and cold.duration_ms >= 0
        with pytest.raises(FunctionNotFound):
            runtime.invoke(REGION, "missing", b"{}")
        lam.put_function_concurrency(FunctionName="direct", ReservedConcurrentExecutions=0)
        with pytest.raises(TooManyRequests):
            runtime.invoke(REGION, arn, b"{}")


def test_stopping_the_local_cloud_kills_every_worker(tmp_path):
    with lambda_only_cloud(tmp_path) as (cloud, lam, role):
        lam.create_function(FunctionName="orphans", Runtime="python3.12", Role=role, Handler="app.sleepy",
                            Code={"ZipFile": zip_of({"app.py": APP})}, Timeout=60)
        pids: list[int] = []
        threads = [threading.Thread(target=lambda: pids.append(invoke(lam, "orphans", {"sleep": 0.3})[1]["pid"]))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(pids)) == 2
        runtime = cloud.get(LambdaRuntime)
        assert runtime.worker_pids() == sorted(pids)

        def stuck() -> None:  # a request still running when the local cloud stops
            try:
                invoke(lam, "orphans", {"sleep": 60})
            except Exception:
                pass

        for _ in range(3):  # the two warm environments and a new one, all busy
            threading.Thread(target=stuck, daemon=True).start()
        eventually(lambda: len(runtime.worker_pids()) >= 3, timeout=10, interval=0.02)
        pids = runtime.worker_pids()
        assert len(pids) == 3
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# ------------------------------------------------- the moto behaviour we rely on
def test_moto_keeps_the_function_zip_and_configuration_on_its_function_object():
    """LambdaRuntime reads these attributes of moto's LambdaFunction (moto 5.2)."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    code = zip_of({"app.py": APP})
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="pin", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name=REGION)
        lam.create_function(FunctionName="pin", Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": code}, Timeout=7, MemorySize=256, Environment={"Variables": {"A": "1"}})
        backend = get_backend("lambda")[DEFAULT_ACCOUNT_ID][REGION]
        fn = backend.get_function("pin", None)
        assert fn.code_bytes == code
        assert fn.code_digest == hashlib.sha256(code).hexdigest()
        assert fn.code_sha_256 == base64.b64encode(hashlib.sha256(code).digest()).decode()
        assert (fn.handler, fn.run_time, fn.timeout, fn.memory_size, fn.environment_vars) == (
            "app.handler", "python3.12", 7, 256, {"A": "1"})
        assert fn.reserved_concurrency is None
        lam.put_function_concurrency(FunctionName="pin", ReservedConcurrentExecutions=0)
        assert fn.reserved_concurrency == 0
        lam.update_function_configuration(FunctionName="pin", Environment={"Variables": {"A": "2"}})
        assert backend.get_function("pin", None).environment_vars == {"A": "2"}
        assert backend.get_function(fn.function_arn, None) is fn
        with pytest.raises(LambdaClientError) as raised:
            backend.get_function("missing", None)
        assert raised.value.code == 404


# ------------------------------------------------------------ the pool's hand-off
class FakeEnvironment:
    """Stands in for a worker: records what is sent into its pipe."""

    def __init__(self):
        self.sent: list[bytes] = []
        self.process = types.SimpleNamespace(returncode=None)
        self.conn = self
        self.killed = False

    def send_bytes(self, data: bytes) -> None:
        if self.process.returncode is not None:
            raise OSError("the worker's end of the pipe is closed")
        self.sent.append(data)

    def alive(self) -> bool:
        return self.process.returncode is None

    def kill(self) -> None:
        self.killed = True
        self.process.returncode = -9


def test_an_environment_held_by_a_with_block_is_given_back_even_when_the_block_fails():
    from localcloud.lambda_runtime.pool import Pool

    pool = Pool(types.SimpleNamespace(name="fn"), max_environments=1, parallel=1)
    env = FakeEnvironment()
    with pytest.raises(RuntimeError, match="the invocation failed"):
        with pool.environment(None, 5, b"first") as lease:
            assert lease.env is None and pool.busy == 1, "no environment yet: the holder starts one"
            lease.adopt(env)
            raise RuntimeError("the invocation failed")
    assert (pool.busy, pool.idle, pool.live) == (0, [env], {env})
    with pool.environment(None, 5, b"second") as lease:
        assert lease.env is env and lease.sent_at is None, "the idle environment is reused; the holder sends"
    assert (pool.busy, pool.idle) == (0, [env])


def one_environment_pool():
    """A pool of at most one environment, already busy with a first request."""
    from localcloud.lambda_runtime.pool import Pool

    pool = Pool(types.SimpleNamespace(name="fn"), max_environments=1, parallel=1)
    assert pool.acquire(None, 5, b"first") == (None, None)  # no environment yet: the caller starts one
    env = FakeEnvironment()
    pool.started(env)
    return pool, env


def wait_in(pool, name: str, outcomes: dict, wait_s: float = 5.0, reserved: int | None = None) -> threading.Thread:
    """Acquire for request ``name`` in a thread, once the requests before it are queued."""
    queued = len(pool.waiting)

    def acquire():
        try:
            outcomes[name] = pool.acquire(reserved, wait_s, name.encode())
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcomes[name] = error

    thread = threading.Thread(target=acquire, daemon=True)
    thread.start()
    assert eventually(lambda: len(pool.waiting) == queued + 1 or name in outcomes, timeout=5)
    return thread


def test_a_finished_invocation_sends_the_longest_waiting_request_to_its_environment():
    pool, env = one_environment_pool()
    outcomes: dict = {}
    second, third = wait_in(pool, "second", outcomes), wait_in(pool, "third", outcomes)
    pool.release(env)  # "first" is answered
    second.join(5)
    handed, sent_at = outcomes["second"]
    assert handed is env and sent_at is not None, "the slot passes with the request already sent"
    assert env.sent == [b"second"] and "third" not in outcomes
    pool.release(env)
    third.join(5)
    assert outcomes["third"][0] is env and env.sent == [b"second", b"third"]
    pool.release(env)
    assert (pool.busy, pool.idle) == (0, [env])


def test_a_waiting_request_gets_a_fresh_slot_when_the_environment_ended_and_is_told_when_the_pool_retires():
    from localcloud.lambda_runtime.pool import Retired

    pool, env = one_environment_pool()
    outcomes: dict = {}
    second = wait_in(pool, "second", outcomes)
    env.process.returncode = 1  # the worker crashed during "first"
    pool.release(env)
    second.join(5)
    assert outcomes["second"] == (None, None) and env.sent == [] and env.killed  # start a new environment
    third = wait_in(pool, "third", outcomes)
    pool.retire()  # the function's configuration changed
    third.join(5)
    assert isinstance(outcomes["third"], Retired)


def test_a_request_that_waits_past_its_deadline_is_throttled():
    from localcloud.lambda_runtime import TooManyRequests

    pool, env = one_environment_pool()
    outcomes: dict = {}
    wait_in(pool, "late", outcomes, wait_s=0.3).join(5)
    assert isinstance(outcomes["late"], TooManyRequests) and outcomes["late"].reason == "ConcurrentInvocationLimitExceeded"
    assert not pool.waiting and env.sent == []


# ------------------------------------------------------ resource policies (AddPermission)
SOURCE = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/item/{item_id}"


def statement(source_arn="arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/item/*", **changes):
    """A statement as AddPermission writes it (moto stores the same shape)."""
    base = {"Sid": "s", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:f",
            "Condition": {"ArnLike": {"AWS:SourceArn": source_arn}}}
    return {**base, **changes}


@pytest.mark.parametrize(("statements", "allowed"), [
    ([statement()], True),
    ([], False),  # no policy at all
    ([statement("arn:aws:execute-api:eu-west-1:123456789012:other/*/GET/item/*")], False),  # another API
    ([statement("arn:aws:execute-api:eu-west-1:123456789012:abc123/*/POST/item")], False),  # another route
    ([statement("arn:aws:execute-api:*:123456789012:abc123/*")], True),  # a wildcard component
    ([statement("arn:aws:execute-api:eu-west-1*")], False),  # '*' does not cross an ARN's colons
    ([statement(Principal={"Service": "events.amazonaws.com"})], False),
    ([statement(Principal="*")], True),
    ([statement(Action=["lambda:GetFunction"])], False),
    ([statement(Action="lambda:*")], True),
    ([statement(Condition={})], True),  # any API of any account may invoke it
    ([statement(Condition={"StringEquals": {"AWS:SourceAccount": "123456789012"}})], True),
    ([statement(Condition={"StringEquals": {"AWS:SourceAccount": "999999999999"}})], False),
    ([statement(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}})], False),  # a key the request lacks
    ([statement(), statement(Effect="Deny")], False),  # an explicit deny wins
])
def test_a_resource_policy_lets_api_gateway_invoke_a_function_only_as_iam_would(statements, allowed):
    from localcloud.lambda_permissions import allows

    assert allows(statements, "apigateway.amazonaws.com", [SOURCE], "123456789012") is allowed


def test_the_runtime_reads_the_permissions_that_add_and_remove_permission_change(tmp_path):
    from localcloud.lambda_runtime import FunctionNotFound

    with lambda_only_cloud(tmp_path) as (cloud, lam, role):
        lam.create_function(FunctionName="guarded", Runtime="python3.12", Role=role, Handler="app.handler",
                            Code={"ZipFile": zip_of({"app.py": APP})})
        runtime = cloud.get(LambdaRuntime)

        def permitted() -> bool:
            return runtime.permits(REGION, "guarded", "apigateway.amazonaws.com", [SOURCE])

        assert not permitted()
        lam.add_permission(FunctionName="guarded", StatementId="api", Action="lambda:InvokeFunction",
                           Principal="apigateway.amazonaws.com",
                           SourceArn="arn:aws:execute-api:eu-west-1:123456789012:abc123/*/GET/item/*")
        assert permitted()
        lam.remove_permission(FunctionName="guarded", StatementId="api")
        assert not permitted()
        with pytest.raises(FunctionNotFound):
            runtime.permits(REGION, "no-such-function", "apigateway.amazonaws.com", [SOURCE])


def test_reserved_concurrency_counts_queued_requests_and_caps_scaling_out():
    from localcloud.lambda_runtime import TooManyRequests
    from localcloud.lambda_runtime.pool import Pool

    pool = Pool(types.SimpleNamespace(name="fn"), max_environments=4, parallel=1)
    assert pool.acquire(2, 5, b"first") == (None, None)
    outcomes: dict = {}
    second = wait_in(pool, "second", outcomes, reserved=2)  # queued: one running, one waiting = 2
    with pytest.raises(TooManyRequests) as third:
        pool.acquire(2, 5, b"third")
    assert third.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    second.join(5)  # no invocation finishes, so it scales out: to 2 slots, the reserved concurrency
    assert outcomes["second"] == (None, None) and pool.busy == 2
    with pytest.raises(TooManyRequests):
        pool.acquire(2, 5, b"fourth")


def test_a_function_configuration_is_built_once_and_again_after_any_change_to_it(tmp_path):
    from localcloud.lambda_runtime.functions import Functions

    (tmp_path / "lambda" / "code" / "d1").mkdir(parents=True)  # the extracted code, as after a first invocation
    fn = types.SimpleNamespace(function_name="f", function_arn=f"arn:aws:lambda:{REGION}:123456789012:function:f",
                               handler="app.handler", run_time="python3.12", timeout=3, memory_size=128,
                               role="arn:aws:iam::123456789012:role/r", code_sha_256="sha", code_digest="d1",
                               environment_vars={"A": "1"}, reserved_concurrency=None)
    functions = Functions("123456789012", tmp_path)
    first, reserved = functions.config(fn, REGION, None)
    assert functions.config(fn, REGION, None)[0] is first and reserved is None
    fn.environment_vars["A"] = "2"  # changed in place: still seen
    second = functions.config(fn, REGION, None)[0]
    assert second is not first and second.variables == (("A", "2"),)
    fn.timeout = 10
    assert functions.config(fn, REGION, None)[0].timeout == 10.0
    fn.reserved_concurrency = 0  # read on every call, never remembered
    assert functions.config(fn, REGION, None)[1] == 0
