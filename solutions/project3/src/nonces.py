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
        # BEGIN SOLUTION
        now = time.time()
        seen = await self.ctx.storage.get(f"n:{nonce}")
        if seen is not None and seen > now:
            return False
        await self.ctx.storage.put(f"n:{nonce}", expires_at)
        if await self.ctx.storage.getAlarm() is None:
            await self.ctx.storage.setAlarm(expires_at * 1000)
        return True
        # END SOLUTION
        # STARTER: return True  # TODO: refuse a nonce seen before (and remember it across restarts)

    async def alarm(self):
        """Forget the nonces whose window has passed."""
        # BEGIN SOLUTION
        now = time.time()
        entries = to_python(await self.ctx.storage.list(prefix="n:"))
        await self.ctx.storage.delete([k for k, until in entries.items() if until <= now])
        later = [until for until in entries.values() if until > now]
        if later:
            await self.ctx.storage.setAlarm(min(later) * 1000)
        # END SOLUTION
        # STARTER: pass
