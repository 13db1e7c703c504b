"""The emulator's backend locks: per service, one global order, released around waits."""

from __future__ import annotations

import io
import threading
import time

import pytest

from ebdemo.emulator.lock_scope import EVERYTHING, request_scope, service_scope
from ebdemo.emulator.locking import LOCK_ORDER, BackendLocks, LockOrderError, lock_name


def _in_thread(locks: BackendLocks, *names: str, timeout: float = 0.3) -> bool:
    """Whether another thread gets `names` within `timeout` (and lets them go again)."""
    got = threading.Event()

    def take() -> None:
        with locks.hold(*names):
            got.set()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    return got.wait(timeout)


def test_one_service_lock_leaves_the_others_free():
    locks = BackendLocks()
    with locks.hold("sqs"):
        assert locks.held("sqs") and not locks.held("events")
        assert _in_thread(locks, "events")  # PutEvents does not wait for an SQS receive
        assert not _in_thread(locks, "sqs")  # a second SQS operation does


def test_no_name_takes_every_lock_and_unknown_services_share_control():
    locks = BackendLocks()
    assert lock_name("iam") == lock_name("s3") == "control"
    with locks.hold():
        assert locks.held_names() == LOCK_ORDER
        assert not _in_thread(locks, "events")
    assert not locks.held()


def test_reentry_is_a_no_op_and_release_order_is_kept():
    locks = BackendLocks()
    with locks.hold("events"):
        with locks.hold("events", "sqs"):
            assert locks.held_names() == ("events", "sqs")
        assert locks.held_names() == ("events",)
    assert not locks.held()


def test_a_lock_before_one_held_is_refused_not_deadlocked():
    locks = BackendLocks()
    with locks.hold("sqs"):
        with (
            pytest.raises(LockOrderError, match="'events' requested while holding 'sqs'"),
            locks.hold("events"),
        ):
            pass
        with locks.hold("control"):  # later in the order: fine (an IAM read)
            assert locks.held("control")
        assert locks.held_names() == ("sqs",)


def test_released_gives_every_held_lock_up_for_a_wait_and_takes_them_back():
    locks = BackendLocks()
    with locks.hold("sns", "sqs"):
        with locks.released():
            assert not locks.held()
            assert _in_thread(locks, "sns", "sqs")  # a handler's own publish gets through
        assert locks.held_names() == ("sns", "sqs")
    assert _in_thread(locks, "sns", "sqs")


def test_opposite_nesting_orders_cannot_deadlock_because_sets_are_taken_in_order():
    locks = BackendLocks()
    done = []

    def worker(names: tuple[str, ...]) -> None:
        for _ in range(300):
            with locks.hold(*names):
                time.sleep(0)
        done.append(names)

    threads = [
        threading.Thread(target=worker, args=(names,), daemon=True)
        for names in [("logs", "events"), ("events", "logs"), ("sqs", "sns"), ()]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(done) == 4


def _environ(
    service: str | None,
    *,
    target: str = "",
    method: str = "POST",
    path: str = "/",
    body: bytes = b"",
    content_type: str = "application/x-amz-json-1.1",
) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    if service:
        environ["HTTP_AUTHORIZATION"] = (
            f"AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=abc"
        )
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ


@pytest.mark.parametrize(
    ("environ", "scope"),
    [
        (_environ("sqs", target="AmazonSQS.ReceiveMessage"), ("sqs",)),
        (_environ("sqs", target="AmazonSQS.CreateQueue"), ("sqs",)),
        (_environ("events", target="AWSEvents.PutEvents"), ("events",)),
        (_environ("events", target="AWSEvents.PutRule"), ("events",)),
        (_environ("events", target="AWSEvents.CreateConnection"), EVERYTHING),  # secrets
        (_environ("events", target="AWSEvents.StartReplay"), EVERYTHING),
        (_environ("logs", target="Logs_20140328.PutLogEvents"), ("logs",)),
        (_environ("logs", target="Logs_20140328.PutSubscriptionFilter"), EVERYTHING),
        (_environ("lambda", path="/2015-03-31/functions/f/invocations"), ("lambda",)),
        (_environ("lambda", method="GET", path="/2015-03-31/functions/f"), ("lambda",)),
        (_environ("lambda", method="GET", path="/2015-03-31/functions/"), ("lambda",)),
        (_environ("lambda", path="/2015-03-31/functions"), EVERYTHING),  # CreateFunction
        (_environ("lambda", path="/2015-03-31/event-source-mappings/"), EVERYTHING),
        (_environ("iam"), EVERYTHING),
        (_environ(None, path="/moto-api/reset"), EVERYTHING),
    ],
)
def test_request_scopes(environ, scope):
    assert request_scope(environ) == scope


def test_query_protocol_requests_are_scoped_and_keep_their_body():
    body = b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Message=hi"
    environ = _environ("sns", body=body, content_type="application/x-www-form-urlencoded")
    assert request_scope(environ) == ("sns", "sqs")
    body = b"Action=PutEvents&Entries=x"
    environ = _environ("events", body=body, content_type="application/x-www-form-urlencoded")
    assert request_scope(environ) == ("events",)
    assert environ["wsgi.input"].read() == body  # moto still reads the whole body


def test_delivery_scopes_match_their_services_requests():
    assert service_scope("sqs") == ("sqs",)
    assert service_scope("sns") == ("sns", "sqs")
    assert service_scope("events") == ("events",)
    assert service_scope("kinesis") == EVERYTHING
