// Workflows routes of the conformance probe (JavaScript, for `wrangler dev`); py_probe/src/
// workflows_probe.py is the same in Python for the emulator. One Workflow class whose run() does
// what the instance's params.kind asks; /wf/start creates the instance, /wf/observe reads its
// status, /wf/api and /wf/duplicate exercise the binding synchronously.
import { WorkflowEntrypoint } from "cloudflare:workers";
import { NonRetryableError } from "cloudflare:workflows";

const RETRY_DELAY_MS = 500;

export class ProbeWorkflow extends WorkflowEntrypoint {
  async run(event, step) {
    const kind = event.payload.kind;
    if (kind === "memo") {
      const where = (ctx) => ({ name: ctx.step.name, count: ctx.step.count, attempt: ctx.attempt });
      const a1 = await step.do("a", async (ctx) => where(ctx));
      const a2 = await step.do("a", async (ctx) => where(ctx));
      const b = await step.do("b", async () => [1, "x", null, { k: true }]);
      return { a1, a2, b, instance: event.instanceId === event.payload.id };
    }
    if (kind === "retry") {
      const times = [];
      let error = null;
      try {
        await step.do("flaky", { retries: { limit: 2, delay: RETRY_DELAY_MS, backoff: "linear" } }, async (ctx) => {
          times.push(Date.now());
          throw new Error(`boom ${ctx.attempt}`);
        });
      } catch (e) {
        error = e.message;
      }
      const gaps = times.slice(1).map((t, i) => Math.round((t - times[i]) / RETRY_DELAY_MS));
      return { attempts: times.length, gap_units: gaps, error };
    }
    if (kind === "event") {
      const ev = await step.waitForEvent("w", { type: "go", timeout: "1 minute" });
      return { payload: ev.payload, type: ev.type, has_timestamp: ev.timestamp instanceof Date };
    }
    if (kind === "timeout") {
      try {
        await step.waitForEvent("w2", { type: "never", timeout: "1 second" });
        return { timed_out: false };
      } catch (e) {
        return { timed_out: true, message: e.message };
      }
    }
    if (kind === "nonretryable") {
      await step.do("stop", { retries: { limit: 3, delay: 100 } }, async () => {
        throw new NonRetryableError("stop here");
      });
      return "unreachable";
    }
    if (kind === "sleep") {
      await step.sleep("nap", "1 hour");
      return "woke";
    }
    if (kind === "defaults") {
      return await step.do("d", async (ctx) => ctx.config);
    }
    throw new Error(`unknown kind ${kind}`);
  }
}

async function caught(fn) {
  try {
    const value = await fn();
    return { threw: false, value: value ?? null };
  } catch (e) {
    return { threw: true, message: String(e.message).replace(/^WorkflowError: /, "") };
  }
}

function plainStatus(s) {
  const out = { status: s.status, output: s.output ?? null };
  if (s.error !== undefined) out.error = s.error;
  return out;
}

export async function workflowRoute(path, params, env) {
  const run = params.get("run") ?? "default";
  if (path === "/wf/start") {
    const kind = params.get("kind");
    const id = `${run}-${kind}`;
    const instance = await env.WF.create({ id, params: { kind, id } });
    if (kind === "event") await instance.sendEvent({ type: "go", payload: { n: 42 } });
    return { id: instance.id };
  }
  if (path === "/wf/observe") {
    const instance = await env.WF.get(`${run}-${params.get("kind")}`);
    return plainStatus(await instance.status());
  }
  if (path === "/wf/api") {
    const id = `${run}-api`;
    const created = await env.WF.create({ id, params: { kind: "sleep" } });
    const out = { id_kept: created.id === id };
    const got = await env.WF.get(id);
    out.get_id = got.id === id;
    await got.terminate();
    out.after_terminate = (await got.status()).status;
    out.terminate_again = (await caught(() => got.terminate())).threw;
    out.get_missing = await caught(() => env.WF.get(`${run}-missing`).then(() => "found"));
    out.invalid_id = (await caught(() => env.WF.create({ id: "not valid!" }).then(() => "created"))).threw;
    out.long_id = (await caught(() => env.WF.create({ id: "x".repeat(101) }).then(() => "created"))).threw;
    out.max_id = (await caught(() => env.WF.create({ id: `${run}-`.padEnd(100, "y"), params: { kind: "memo" } })
      .then((i) => i.id.length))).value;
    out.empty_batch = (await caught(() => env.WF.createBatch([]).then(() => "created"))).threw;
    const batch = await env.WF.createBatch([{ id: `${run}-b1`, params: { kind: "memo" } },
      { id: `${run}-b2`, params: { kind: "memo" } }]);
    out.batch_ids = batch.map((i) => i.id.slice(run.length));
    return out;
  }
  if (path === "/wf/duplicate") {
    const id = `${run}-dup`;
    await env.WF.create({ id, params: { kind: "memo" } });
    return { second_create: (await caught(() => env.WF.create({ id, params: { kind: "memo" } }).then(() => "created"))).threw };
  }
  return null;
}
