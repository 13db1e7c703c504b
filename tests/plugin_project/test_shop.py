"""The shop's tests: each sends events and checks what the functions did with them."""


def test_an_order_is_billed(ebdemo_stack):
    order = ebdemo_stack.send("order", {"sku": "A1", "quantity": 2})
    assert order.rules == ["order", "audit-all"]

    billed = ebdemo_stack.wait_for("billing", order)
    assert billed.status == "success"
    assert billed.result == {"billed": "A1", "amount": 20}


def test_an_order_without_a_sku_fails_billing(ebdemo_stack):
    order = ebdemo_stack.send("order", {"quantity": 1})

    billed = ebdemo_stack.wait_for("billing", order)
    assert billed.status == "error"
    assert billed.error == "KeyError: 'sku'"
    assert any("KeyError" in line for line in billed.logs)


def test_shipping_emails_the_customer(ebdemo_stack):
    order = ebdemo_stack.send("order", {"sku": "B2"})

    shipped = ebdemo_stack.wait_for("shipping", order)
    assert shipped.result == {"shipped": "B2"}
    assert any(f"for event {order.id}" in line for line in shipped.logs)
    (email,) = ebdemo_stack.outbox()
    assert email["subject"] == "Order shipped" and email["to"] == "orders@example.com"


def test_the_auditor_sees_every_event_even_silently(ebdemo_stack):
    ping = ebdemo_stack.send("ping")
    assert ping.rules == ["audit-all"]

    audited = ebdemo_stack.wait_for("audit", ping)
    assert audited.result == {"audited": "ping"}
    assert [i.event_id for i in ebdemo_stack.invocations("audit")] == [ping.id]


def test_billing_quotes_a_price_when_invoked_directly(ebdemo_stack):
    quote = ebdemo_stack.invoke("billing", {"detail": {"sku": "C3", "quantity": 3}})
    assert quote.result == {"billed": "C3", "amount": 30}
