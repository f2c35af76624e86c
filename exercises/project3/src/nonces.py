"""The NonceLedger: the nonces of signed calls seen within the clock-skew window.

A replayed call carries a nonce already used; the ledger refuses it. Its memory must be in
storage: a ledger that forgot its nonces after a restart would accept every replay of the last
five minutes.
"""
import time

from workers import DurableObject


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class NonceLedger(DurableObject):
    async def remember(self, nonce, expires_at):
        """RPC: True the first time ``nonce`` is seen (until ``expires_at``), False for a replay."""
        return True  # TODO: refuse a nonce seen before (and remember it across restarts)

    async def alarm(self):
        """Forget the nonces whose window has passed."""
        pass
