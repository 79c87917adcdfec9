// The client against a real gamepay server (started from the repository's .venv), over real sockets.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import WebSocket from "ws";

import {
  GamepayClient,
  GamepayError,
  RateLimitedError,
  TokenRejectedError,
  backoffDelay,
} from "../gamepay.js";
import { startServer } from "../support/harness.js";

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function until(check, what, ms = 15000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function client(player, options = {}) {
  return new GamepayClient({
    url: server.wsUrl,
    token: () => server.token(player),
    WebSocket,
    reconnect: { initialDelay: 50, maxDelay: 400 },
    ...options,
  });
}

async function gold(c) {
  const found = (await c.balances()).find((b) => b.asset === "currency:gold");
  return found ? found.available : "0";
}

async function completedOrders(c) {
  const { entries } = await c.history({ limit: 100 });
  return entries.filter((e) => e.event === "order_status_changed" && e.data.status === "completed");
}

test("connects, authenticates with a Node-minted JWT and speaks protocol 2", async () => {
  await server.session("ana");
  const c = client("ana");
  const result = await c.connect();
  assert.equal(result.protocol, 2);
  assert.equal(c.playerId, "ana");
  const items = await c.catalog();
  const sword = items.find((i) => i.sku === "sword");
  assert.deepEqual(sword.balance_price, { asset: "currency:gold", code: "gold", decimals: 0, amount: "500" });
  assert.deepEqual(sword.grants, [sword.grant]);
  const pack = items.find((i) => i.sku === "starter-pack");  // a bundle: every part listed
  assert.deepEqual(pack.grants.map((g) => `${g.amount} ${g.code}`), ["1 sword", "1 shield", "3 potion"]);
  assert.deepEqual(pack.grant, pack.grants[0]);
  assert.equal(pack.available_until, null);
  assert.equal(await gold(c), "1000");
  await assert.rejects(c.buyWithBalance("no-such-item"), (err) => err instanceof GamepayError && err.code === "unknown_sku");
  c.close();
});

test("a connection killed after the server bought, before the reply: the resend gets the same order", async () => {
  await server.session("ben");
  class Flaky extends WebSocket {
    send(data, ...rest) {
      if (String(data).includes('"buy_with_balance"') && !Flaky.dropped) { Flaky.dropped = true; this.dropReply = true; }
      return super.send(data, ...rest);
    }
    get onmessage() { return super.onmessage; }
    set onmessage(handler) {
      // the first frame after the buy is its reply: the connection dies instead of delivering it
      super.onmessage = (ev) => {
        if (this.dropReply) { this.dropReply = false; this.terminate(); return; }
        handler(ev);
      };
    }
  }
  const events = [];
  const c = client("ben", { WebSocket: Flaky });
  c.on("asset_granted", (push) => events.push(push));
  await c.connect();
  const original = c._ws;
  const order = await c.buyWithBalance("potion");
  assert.notEqual(c._ws, original, "the reply came over a new connection");
  assert.equal(order.status, "completed");
  const orders = await completedOrders(c);
  assert.equal(orders.length, 1, "exactly one order");
  assert.equal(orders[0].data.order_id, order.order_id);
  assert.equal(await gold(c), "940");
  await until(() => events.length >= 1, "the grant push");
  assert.equal(events.length, 1);
  c.close();
});

test("a connection killed right after sending a buy: exactly one order once it resends", async () => {
  await server.session("cleo");
  const c = client("cleo");
  await c.connect();
  const buying = c.buyWithBalance("potion", { requestId: "cleo-potion-1" });
  c.dropConnection();
  const order = await buying;
  assert.equal(order.status, "completed");
  const again = await c.buyWithBalance("potion", { requestId: "cleo-potion-1" });
  assert.equal(again.order_id, order.order_id, "the same request id is the same order");
  assert.equal((await completedOrders(c)).length, 1);
  assert.equal(await gold(c), "940");
  c.close();
});

test("after a reconnect the missed events are replayed: none lost, none repeated", async () => {
  await server.session("dan");
  const seen = [];
  const a = client("dan", { reconnect: { initialDelay: 600, maxDelay: 600, jitter: 0 } });
  a.on("event", (push) => seen.push(push.event_id));
  await a.connect();
  await a.buyWithBalance("potion");
  await until(() => seen.length >= 4, "the first buy's pushes");
  const b = client("dan");
  await b.connect();
  a.dropConnection(); // a reconnects 600 ms later, with last_event_id
  await until(() => a.state === "reconnecting", "a to notice");
  for (let i = 0; i < 3; i += 1) await b.buyWithBalance("potion");
  let replayed = false;
  a.on("replay_complete", () => { replayed = true; });
  await until(() => replayed, "the replay");
  const { entries } = await b.history({ limit: 100 });
  const stored = entries.map((e) => e.event_id);
  await until(() => seen.length >= stored.length, "every event");
  assert.deepEqual([...seen].sort((x, y) => x - y), stored, "every stored event exactly once");
  assert.equal(new Set(seen).size, seen.length);
  assert.equal(a.lastEventId, stored.at(-1));
  const balance = (await a.history({ limit: 100 })).entries.find((e) => e.event === "balance_changed");
  assert.equal(typeof balance.data.code, "string");
  a.close();
  b.close();
});

test("rate limiting surfaces as RateLimitedError and the connection carries on", async () => {
  const c = client("eve");
  await c.connect();
  const results = await Promise.allSettled(Array.from({ length: 45 }, () => c.ping()));
  const limited = results.filter((r) => r.status === "rejected");
  assert.ok(limited.length > 0, "some pings were over the limit");
  for (const r of limited) assert.ok(r.reason instanceof RateLimitedError, String(r.reason));
  await sleep(1000);
  assert.equal((await c.ping()).type, "ping_result");
  assert.equal(c.state, "open");
  c.close();
});

test("an expired token is TokenRejectedError and is not retried; a reconnect asks for a fresh token", async () => {
  const past = Math.floor(Date.now() / 1000) - 3600;
  const stale = client("finn", { token: () => server.token("finn", { iat: past, expiresIn: 60 }) });
  await assert.rejects(stale.connect(), (err) => err instanceof TokenRejectedError && err.code === "token_rejected");
  assert.equal(stale.state, "closed");

  let minted = 0;
  const fresh = client("finn", { token: () => { minted += 1; return server.token("finn", { expiresIn: 60 }); } });
  await fresh.connect();
  fresh.dropConnection();
  await until(() => minted === 2 && fresh.state === "open", "a reconnect with a new token");
  assert.equal((await fresh.ping()).type, "ping_result");
  fresh.close();
});

test("backoff grows exponentially up to the cap, with jitter below it", () => {
  const policy = { initialDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.5 };
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay(2, policy, () => 1), 200);
});

test("two players trade a sword for gold: both sides move at once and both are pushed", async () => {
  await server.session("tia");
  await server.session("tom");
  const tia = client("tia");
  const tom = client("tom");
  await tia.connect();
  await tom.connect();
  await tia.buyWithBalance("sword");
  const tiaPushes = [];
  const tomPushes = [];
  tia.on("trade_changed", (push) => tiaPushes.push(push.data));
  tom.on("trade_changed", (push) => tomPushes.push(push.data));
  const offered = await tia.tradeOffer(
    "tom", [{ asset: "item:sword", amount: "1" }], [{ asset: "currency:gold", amount: "200" }], { expiresIn: 600 },
  );
  assert.equal(offered.status, "open");
  assert.equal(offered.role, "proposer");
  const listed = await tom.trades();
  assert.deepEqual(listed.map((t) => [t.trade_id, t.role]), [[offered.trade_id, "recipient"]]);
  await assert.rejects(tia.tradeAccept(offered.trade_id), (err) => err.code === "trade_forbidden");
  const requestId = "accept-once";
  const accepted = await tom.tradeAccept(offered.trade_id, { requestId });
  assert.equal(accepted.status, "accepted");
  assert.equal((await tom.tradeAccept(offered.trade_id, { requestId })).status, "accepted");
  await assert.rejects(tom.tradeDecline(offered.trade_id), (err) => err.code === "trade_closed");
  assert.equal(await gold(tia), "700");
  assert.equal(await gold(tom), "800");
  await until(() => tiaPushes.length === 2 && tomPushes.length === 2, "trade pushes to both players");
  assert.deepEqual(tomPushes.map((d) => d.status), ["open", "accepted"]);
  assert.deepEqual(tiaPushes[1].give, [
    { asset: "item:sword", code: "sword", decimals: 0, amount: "1", amount_base_units: "1" },
  ]);
  tia.close();
  tom.close();
});

test("renews a subscription: one intent per period, a typed refusal for a plain item", async () => {
  const c = client("sam");
  await c.connect();
  const first = await c.renewSubscription("vip-month");
  assert.equal(first.period_index, 0);
  assert.equal(first.fiat_amount, "150");
  const again = await c.renewSubscription("vip-month");
  assert.equal(again.order_id, first.order_id, "asked twice: one intent for the period");
  await assert.rejects(c.renewSubscription("sword"), (err) => err instanceof GamepayError && err.code === "not_a_subscription");
  assert.deepEqual(await c.subscriptions(), []);
  c.close();
});
