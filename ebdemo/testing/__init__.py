"""`ebdemo.testing`: test an event-driven topology in plain pytest.

Installed with ebdemo, the plugin (`ebdemo.testing.plugin`, entry point `pytest11`) gives
every test session the `ebdemo_stack` fixture: the stack of `config.yaml` (ini option
`ebdemo_config`) on a private emulator — or on AWS with `--ebdemo-target aws` — reset
before each test that uses it. A test sends an event, waits for the invocation it causes
and asserts what the function did:

    def test_an_order_is_billed(ebdemo_stack):
        order = ebdemo_stack.send("order", {"sku": "A1"})
        billed = ebdemo_stack.wait_for("billing", order)
        assert billed.status == "success" and billed.result == {"billed": "A1"}

`EbdemoStack` (`stack.py`) offers `send`, `wait_for`, `invocations`, `invoke`, `outbox`
and `messages`; `SentEvent` and `Invocation` (`results.py`) are what they return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ebdemo.testing.results import Invocation, SentEvent
    from ebdemo.testing.stack import EbdemoStack

__all__ = ["EbdemoStack", "Invocation", "SentEvent"]


def __getattr__(name: str) -> Any:
    """Loaded on first use: pytest imports this package at every start (the plugin), and
    a session that never asks for `ebdemo_stack` should not pay for boto3."""
    if name == "EbdemoStack":
        from ebdemo.testing.stack import EbdemoStack

        return EbdemoStack
    if name in ("Invocation", "SentEvent"):
        from ebdemo.testing import results

        return getattr(results, name)
    raise AttributeError(name)
