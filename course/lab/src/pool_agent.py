"""A pool of worker agents behind one dispatcher (Day 2): strategies, a bounded queue, 429.

The ``PoolAgent`` Durable Object (one per pool name) keeps the pool's configuration in storage
and, in memory, the tasks in flight per worker and the tasks waiting. A task goes to a worker
chosen by the strategy when it arrives: ``round-robin`` (the next in turn, busy or not),
``least-loaded`` (whichever has the fewest in flight when one has room) or ``consistent-hash``
(the ring owner of the task's key, so one conversation always lands on one worker). A worker
already running ``capacity`` tasks takes no more: the task waits in the queue for its worker, and when ``max_queue`` tasks wait, the pool answers 429 with Retry-After.

The workers are Day 1's ``WorkerAgent`` objects (``<pool>-p<i>``), called with the same
``task.assign`` envelope; ``worker_delays`` makes some of them slow, to show what a strategy
does with a slow worker.
"""
import asyncio
import time

from workers import DurableObject

from agent_protocol.envelope import Envelope
from agent_protocol.pair import SubtaskSpec
from agent_protocol.pool import PoolConfig, PoolTaskRequest, ring_owner


def to_python(value):
    return value.to_py() if hasattr(value, "to_py") else value


class PoolFull(Exception):
    pass


class PoolAgent(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.in_flight = {}
        self.done = {}
        self.waiting = []  # futures of tasks in the queue, oldest first
        self.turn = 0
        self.rejected = 0
        self.counter = 0

    async def config(self):
        return PoolConfig.model_validate(await self.ctx.storage.get("config") or {})

    async def configure(self, name, config):
        checked = PoolConfig.model_validate(to_python(config))
        await self.ctx.storage.put("config", checked.model_dump(mode="json"))
        for i in range(checked.size):
            delay = checked.worker_delays[i] if i < len(checked.worker_delays) else 0.0
            await self.env.WORKER.getByName(f"{name}-p{i}").configure({"delay_seconds": delay, "fail_next": 0})
        self.in_flight, self.done, self.turn = {}, {}, 0
        return checked.model_dump(mode="json")

    def target(self, config, workers, key):
        """The worker a task is bound to at arrival (None: whichever has room, for least-loaded)."""
        if config.strategy == "consistent-hash":
            return ring_owner(key, workers)
        if config.strategy == "round-robin":
            self.turn += 1
            return workers[(self.turn - 1) % len(workers)]
        return None

    def pick(self, config, workers, target):
        free = [w for w in workers if self.in_flight.get(w, 0) < config.capacity]
        if target is not None:
            return target if target in free else None
        return min(free, key=lambda w: (self.in_flight.get(w, 0), workers.index(w))) if free else None

    async def acquire(self, config, workers, key):
        target = self.target(config, workers, key)
        worker = self.pick(config, workers, target)
        while worker is None:
            if len(self.waiting) >= config.max_queue:
                self.rejected += 1
                raise PoolFull()
            ready = asyncio.get_running_loop().create_future()
            self.waiting.append(ready)
            await ready
            worker = self.pick(config, workers, target)
        self.in_flight[worker] = self.in_flight.get(worker, 0) + 1
        return worker

    def release(self, worker):
        self.in_flight[worker] -= 1
        self.done[worker] = self.done.get(worker, 0) + 1
        waiting, self.waiting = self.waiting, []
        for ready in waiting:  # every waiter tries again; those still without a worker queue again, in order
            if not ready.done():
                ready.set_result(None)

    async def submit(self, name, request):
        req = PoolTaskRequest.model_validate(to_python(request))
        config = await self.config()
        workers = [f"{name}-p{i}" for i in range(config.size)]
        self.counter += 1
        task_id = req.task_id or f"{name}-task-{self.counter}"
        started = time.time()
        try:
            worker = await self.acquire(config, workers, req.key or task_id)
        except PoolFull:
            return {"rejected": True, "retry_after": config.retry_after_seconds, "queued": len(self.waiting)}
        waited = time.time() - started
        try:
            spec = SubtaskSpec(task_id=task_id, subtask_id=f"{task_id}.0", operation=req.operation, items=req.items)
            assign = Envelope(id=f"{name}-{self.counter}", type="task.assign", sender=f"pool:{name}",
                              recipient=f"worker:{worker}", correlation_id=task_id, sent_at=started,
                              payload=spec.model_dump(mode="json"))
            reply = to_python(await self.env.WORKER.getByName(worker).handle(assign.model_dump(mode="json")))
        finally:
            self.release(worker)
        return {"task_id": task_id, "worker": worker, "strategy": config.strategy,
                "result": reply["payload"].get("value"), "waited_seconds": round(waited, 6),
                "latency_seconds": round(time.time() - started, 6)}

    async def state(self, name):
        config = await self.config()
        workers = [f"{name}-p{i}" for i in range(config.size)]
        return {"name": name, "config": config.model_dump(mode="json"), "queued": len(self.waiting),
                "rejected": self.rejected,
                "workers": [{"worker": w, "in_flight": self.in_flight.get(w, 0), "done": self.done.get(w, 0)}
                            for w in workers]}
