"""Benchmark of the emulator's IAM check: what evaluating a role's policies costs a call.

Run: `python bench/iam.py [--calls 300]`

One emulator in this process; the same `sns.publish` (and `events.put_events`) round trip,
signed (1) with the dummy `testing` key, which is never restricted (the baseline), and (2)
with the temporary credentials the emulator issues to a function's execution role, which are
evaluated against the role's inline policy and the topic's policy on every call. Prints p50
of each and the ratio, and the check's own cost from the difference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3

from ebdemo.emulator.functions import FunctionSnapshot
from ebdemo.emulator.server import EmulatorServer, isolate_from_user_aws_settings

ACCOUNT = "123456789012"
REGION = "us-east-1"


def p50_pair_ms(first, second, count: int) -> tuple[float, float]:
    """p50 of two calls, alternated so that machine noise falls on both alike."""
    for _ in range(10):  # warm up connections and caches
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for call, out in ((first, samples[0]), (second, samples[1])):
            began = time.perf_counter()
            call()
            out.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    isolate_from_user_aws_settings()
    with EmulatorServer() as server:

        def client(service: str, key: str, secret: str, token: str):
            return boto3.client(
                service, region_name=REGION, endpoint_url=server.endpoint,
                aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
            )

        iam = client("iam", "testing", "testing", "testing")
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        topic = client("sns", "testing", "testing", "testing").create_topic(Name="b")["TopicArn"]
        bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
        statements = [
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/bench:*"},
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic},
            {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus},
        ]
        iam.put_role_policy(RoleName="bench", PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
        issued = server.credentials.issue(FunctionSnapshot(
            arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench", name="bench", handler="h",
            runtime="python3.12", timeout=3, memory=128, code_sha256="", region=REGION,
            account=ACCOUNT, role=role))
        role_keys = (issued.access_key_id, issued.secret_access_key, issued.session_token)
        entry = [{"Source": "bench", "DetailType": "t", "Detail": "{}"}]
        print("ebdemo emulator IAM check (one emulator in this process)")
        for label, service, call in (
            ("sns.publish", "sns", lambda c: c.publish(TopicArn=topic, Message="m")),
            ("events.put_events", "events", lambda c: c.put_events(Entries=entry)),
        ):
            dummy = client(service, "testing", "testing", "testing")
            signed = client(service, *role_keys)
            base, checked = p50_pair_ms(
                lambda c=dummy, f=call: f(c), lambda c=signed, f=call: f(c), args.calls
            )
            print(f"  {label}: dummy key (unrestricted) p50 {base:.2f} ms; role credentials "
                  f"(evaluated) p50 {checked:.2f} ms (x{checked / base:.2f}, check ~"
                  f"{max(0.0, checked - base) * 1000:.0f} us)")


if __name__ == "__main__":
    main()
