"""`ebdemo plan` and `ebdemo doctor` on `permissions:`, through the CLI on moto: wildcards
are warned about; an AccessDenied in a function's logs is explained with the entry to add,
and once that entry is deployed by `up`, doctor is silent again."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ebdemo.app import App
from ebdemo.cli import main

REGION, ACCOUNT = "us-east-1", "123456789012"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders"


def write(root: Path, permissions: list[dict[str, Any]]) -> Path:
    (root / "billing.py").write_text("def handler(event, context):\n    return 1\n")
    config = {"stack": "t1", "target": "aws", "region": REGION, "functions": {
        "billing": {"code": "billing.py", "permissions": permissions}}}
    path = root / "config.yaml"
    path.write_text(json.dumps(config))
    return path


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def test_plan_and_doctor_warn_about_wildcards(clients, tmp_path, monkeypatch):
    monkeypatch.setattr(App, "clients", lambda app: clients)
    config = write(tmp_path, [{"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::r/*"]},
                              {"actions": ["dynamodb:GetItem"], "resources": [TABLE]}])
    planned = run(config, "plan")
    assert planned.exit_code == 0, planned.output
    said = " ".join(planned.stderr.split())
    assert ("Warning: functions.billing.permissions[0]: wildcard resource arn:aws:s3:::r/* "
            "grants s3:GetObject") in said
    assert "permissions[1]" not in said  # an exact ARN is fine
    as_json = json.loads(run(config, "--output", "json", "plan").stdout)
    assert len(as_json["warnings"]) == 1

    assert run(config, "up", "--yes").exit_code == 0
    doctor = json.loads(run(config, "--output", "json", "doctor").stdout)
    assert doctor["healthy"] and doctor["errors"] == 0
    assert [f["code"] for f in doctor["findings"]] == ["permission-wildcard"]


def test_doctor_explains_an_access_denied_in_the_logs_until_up_grants_it(
    clients, tmp_path, monkeypatch
):
    monkeypatch.setattr(App, "clients", lambda app: clients)
    config = write(tmp_path, [])
    assert run(config, "up", "--yes").exit_code == 0
    assert run(config, "doctor").exit_code == 0
    # what the function logged when the SDK's error escaped its handler
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/t1-billing-{REGION}/t1-billing"
    line = ("[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the "
            f"GetItem operation: User: {session} is not authorized to perform: "
            f"dynamodb:GetItem on resource: {TABLE} because no identity-based policy allows "
            "the dynamodb:GetItem action")
    logs = clients.client("logs")
    logs.create_log_stream(logGroupName="/aws/lambda/t1-billing", logStreamName="s")
    logs.put_log_events(logGroupName="/aws/lambda/t1-billing", logStreamName="s", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": line}])

    found = run(config, "doctor")
    assert found.exit_code == 1, found.output
    said = " ".join(found.stdout.split())
    assert (f"function t1-billing: billing: dynamodb:GetItem on {TABLE} denied — add to "
            f"functions.billing.permissions: {{actions: [dynamodb:GetItem], resources: "
            f"[{TABLE}]}}") in said

    config = write(tmp_path, [{"actions": ["dynamodb:GetItem"], "resources": [TABLE]}])
    assert run(config, "up", "--yes").exit_code == 0
    fixed = run(config, "doctor")
    assert fixed.exit_code == 0, fixed.output  # the old line is still there, now allowed
