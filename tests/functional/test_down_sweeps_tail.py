"""`down` removes what a killed `ebdemo tail` left behind, and then the bus itself."""

from __future__ import annotations

from click.testing import CliRunner

from ebdemo.aws.tail import TailSession
from ebdemo.cli import main


def test_down_sweeps_a_crashed_tail_and_deletes_the_bus(project, moto_endpoint, server_clients):
    p = project()
    options = ["--config", str(p.path), "--target", "aws", "--endpoint-url", moto_endpoint]
    assert CliRunner().invoke(main, [*options, "up"]).exit_code == 0

    crashed = TailSession(server_clients, p.topology(), {"source": ["io.entest.demo"]})
    crashed.open()  # never closed: the process "died"
    events, sqs = server_clients.client("events"), server_clients.client("sqs")
    assert any("-tail-" in r["Name"] for r in events.list_rules(EventBusName="t1-events")["Rules"])

    result = CliRunner().invoke(main, [*options, "down", "--yes"])
    assert result.exit_code == 0, result.output
    assert "interrupted `ebdemo tail`" in result.stderr
    buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "t1-events" not in buses
    assert not [u for u in sqs.list_queues().get("QueueUrls", []) if "t1-tail-" in u]
