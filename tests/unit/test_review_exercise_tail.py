"""Review: while `tail` removes its rule and queue, no signal may cut the cleanup short."""

from __future__ import annotations

import signal

from ebdemo.commands.tail import _ignoring_interrupts, _terminate_as_interrupt


def test_cleanup_ignores_a_second_sigterm_as_well_as_ctrl_c():
    """Only SIGINT was ignored: a second SIGTERM (systemd, docker stop) during cleanup raised
    KeyboardInterrupt inside it and left the temporary rule and queue behind."""
    with _terminate_as_interrupt():
        before = signal.getsignal(signal.SIGTERM)
        with _ignoring_interrupts():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                assert signal.getsignal(sig) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is before
