"""Two tests that share the stack and nothing else: the first leaves work in flight, a
failure and emails behind; the second sees none of it."""

import time


def test_the_first_leaves_a_mess(ebdemo_stack):
    for sku in ("X1", "X2", "X3"):
        ebdemo_stack.send("order", {"sku": sku})
    broken = ebdemo_stack.send("order", {"quantity": 1})
    assert ebdemo_stack.wait_for("billing", broken).status == "error"
    # the test ends with shipping's emails and the auditor's invocations still under way


def test_the_second_sees_none_of_it(ebdemo_stack):
    time.sleep(1.0)  # whatever was still in flight would have landed by now
    for function in ("billing", "shipping", "audit"):
        assert ebdemo_stack.invocations(function) == []
    assert ebdemo_stack.outbox() == []
    logs = ebdemo_stack.clients.client("logs")
    for function in ("billing", "shipping", "audit"):
        group = ebdemo_stack.topology.log_group_name(function)
        assert logs.filter_log_events(logGroupName=group)["events"] == []
