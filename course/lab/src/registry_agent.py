"""The registry agent (Day 2): which agents are alive, found by capability.

A SQLite-backed Durable Object, one per registry name. Agents register an ``AgentCard`` and send
heartbeats; an entry is alive until ``expires_at`` (a registration or heartbeat pushes it
``ttl_seconds`` ahead). Lookups never return an expired entry, and an alarm set for the
earliest expiry deletes expired entries without any request arriving.
"""
import json
import time

from workers import DurableObject

from agent_protocol.discovery import AgentCard, RegistryEntry

SCHEMA = ("CREATE TABLE IF NOT EXISTS agents (agent_id TEXT PRIMARY KEY, card TEXT NOT NULL,"
          " registered_at REAL NOT NULL, last_seen REAL NOT NULL, expires_at REAL NOT NULL)")


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


def rows(cursor):
    array = cursor.toArray()
    array = array.to_py() if hasattr(array, "to_py") else list(array)
    return [dict(r) if isinstance(r, dict) else to_python(r) for r in array]


class RegistryAgent(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.sql = ctx.storage.sql
        self.sql.exec(SCHEMA)

    def entry(self, row):
        return RegistryEntry(card=AgentCard.model_validate_json(row["card"]), registered_at=row["registered_at"],
                             last_seen=row["last_seen"], expires_at=row["expires_at"]).model_dump(mode="json")

    async def arm(self):
        """The alarm at the earliest expiry (or none when the registry is empty)."""
        found = rows(self.sql.exec("SELECT MIN(expires_at) AS next FROM agents"))
        nxt = found[0]["next"] if found else None
        if nxt is None:
            await self.ctx.storage.deleteAlarm()
        else:
            await self.ctx.storage.setAlarm(nxt * 1000)

    async def register(self, card):
        card = AgentCard.model_validate(to_python(card))
        now = time.time()
        old = rows(self.sql.exec("SELECT registered_at, expires_at FROM agents WHERE agent_id = ?", card.agent_id))
        alive_since = old[0]["registered_at"] if old and old[0]["expires_at"] > now else now
        self.sql.exec("INSERT INTO agents VALUES (?, ?, ?, ?, ?) ON CONFLICT(agent_id) DO UPDATE SET card = excluded.card,"
                      " registered_at = excluded.registered_at, last_seen = excluded.last_seen,"
                      " expires_at = excluded.expires_at",
                      card.agent_id, card.model_dump_json(), alive_since, now, now + card.ttl_seconds)
        await self.arm()
        return self.entry(rows(self.sql.exec("SELECT * FROM agents WHERE agent_id = ?", card.agent_id))[0])

    async def heartbeat(self, agent_id):
        now = time.time()
        found = rows(self.sql.exec("SELECT * FROM agents WHERE agent_id = ? AND expires_at > ?", agent_id, now))
        if not found:
            return {"agent_id": agent_id, "alive": False, "expires_at": None}
        ttl = json.loads(found[0]["card"])["ttl_seconds"]
        self.sql.exec("UPDATE agents SET last_seen = ?, expires_at = ? WHERE agent_id = ?", now, now + ttl, agent_id)
        await self.arm()
        return {"agent_id": agent_id, "alive": True, "expires_at": now + ttl}

    async def lookup(self, capability=None):
        now = time.time()
        found = rows(self.sql.exec("SELECT * FROM agents WHERE expires_at > ? ORDER BY agent_id", now))
        entries = [self.entry(r) for r in found]
        if capability is not None:
            entries = [e for e in entries if capability in e["card"]["capabilities"]]
        return entries

    async def alarm(self):
        self.sql.exec("DELETE FROM agents WHERE expires_at <= ?", time.time())
        await self.arm()

    async def stored(self):
        """Every row, expired ones included (the lesson shows what the alarm removes)."""
        return [r["agent_id"] for r in rows(self.sql.exec("SELECT agent_id FROM agents ORDER BY agent_id"))]
