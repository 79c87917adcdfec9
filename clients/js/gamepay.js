// gamepay's official JavaScript client: protocol 2 over one websocket (docs/protocol.md).
// An ES module for browsers and Node 20, no build step; types in gamepay.d.ts (and JSDoc here).
//
//   import { GamepayClient } from "./gamepay.js";
//   const client = new GamepayClient({ url, token: () => fetchTokenFromMyBackend() });
//   client.on("asset_granted", (push) => show(push.data));
//   await client.connect();
//   const order = await client.buyWithBalance("sword");   // safe to lose: resent with its request_id
//   const trade = await client.tradeOffer("bob", [{ asset: "item:sword", amount: "1" }],
//                                         [{ asset: "currency:gold", amount: "200" }]);
//
// Rules it keeps for you: every request is answered by id (or times out); a money-moving call
// draws one request_id and reuses it whenever it resends (after a reconnect), so a dropped
// connection can never charge twice; a lost connection reconnects with exponential backoff and
// jitter, authenticates again with a fresh token and replays the pushes after the last event_id
// it saw; pushes are de-duplicated by event_id.

/** The protocol this client speaks. */
export const PROTOCOL = 2;

/** The requests that move money: each carries a request_id, reused when resent. */
export const MONEY_MOVING = Object.freeze([
  "buy_with_balance", "buy_with_crypto", "top_up", "withdraw",
  "trade_offer", "trade_accept", "trade_decline", "trade_cancel",
]);

/** Any refusal or failure; `code` is the protocol's stable error code. */
export class GamepayError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{requestId?: string, reply?: object}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(`${code}: ${message}`);
    this.name = "GamepayError";
    this.code = code;
    this.requestId = extra.requestId;
    this.reply = extra.reply;
  }
}

/** The server refused the token (expired, forged, malformed...): get a new one. */
export class TokenRejectedError extends GamepayError {
  constructor(message, extra) { super("token_rejected", message, extra); this.name = "TokenRejectedError"; }
}

/** The connection sent faster than its rate limit; the request was not run. */
export class RateLimitedError extends GamepayError {
  constructor(message, extra) { super("rate_limited", message, extra); this.name = "RateLimitedError"; }
}

/** No reply in time. A money-moving call may have happened: call again with `err.requestId`. */
export class RequestTimeoutError extends GamepayError {
  constructor(message, extra) { super("request_timeout", message, extra); this.name = "RequestTimeoutError"; }
}

/** The client was closed (by `close()`, or it gave up reconnecting) before a reply came. */
export class ConnectionClosedError extends GamepayError {
  constructor(message, extra) { super("connection_closed", message, extra); this.name = "ConnectionClosedError"; }
}

const ERRORS = { token_rejected: TokenRejectedError, rate_limited: RateLimitedError };

/**
 * The typed error for an error reply.
 * @param {{code: string, message: string}} reply
 * @param {string} [requestId]
 * @returns {GamepayError}
 */
export function errorFor(reply, requestId) {
  const Type = ERRORS[reply.code];
  return Type ? new Type(reply.message, { requestId, reply }) : new GamepayError(reply.code, reply.message, { requestId, reply });
}

/** A random request id (a UUID when the platform has one). */
export function newRequestId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  return `r-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/**
 * The delay before reconnect attempt `attempt` (0-based): exponential, capped, with jitter.
 * @param {number} attempt
 * @param {{initialDelay: number, maxDelay: number, factor: number, jitter: number}} policy
 * @param {() => number} random
 */
export function backoffDelay(attempt, policy, random = Math.random) {
  const base = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** attempt);
  return Math.round(base * (1 - policy.jitter * random()));
}

const OPEN = 1;

export class GamepayClient {
  /**
   * @param {import("./gamepay").ClientOptions} options
   */
  constructor(options) {
    if (!options || !options.url) throw new TypeError("GamepayClient needs a url");
    this.url = options.url;
    this._token = options.token;
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    if (!this._WebSocket) throw new TypeError("no WebSocket: pass options.WebSocket (e.g. the ws package in Node)");
    this.requestTimeout = options.requestTimeout ?? 15000;
    this.reconnect = { initialDelay: 250, maxDelay: 10000, factor: 2, jitter: 0.5, maxAttempts: Infinity, ...(options.reconnect || {}) };
    this._random = options.random || Math.random;
    /** @type {number | null} */
    this.lastEventId = options.lastEventId === undefined ? 0 : options.lastEventId;
    this.playerId = null;
    /** @type {"idle"|"connecting"|"open"|"reconnecting"|"closed"} */
    this.state = "idle";
    this._ws = null;
    this._nextId = 1;
    this._pending = new Map(); // frame id -> {frame, resolve, reject, timer, requestId}
    this._handlers = new Map(); // name -> Set(handler)
    this._seen = new Set();
    this._seenOrder = [];
    this._seenWindow = options.seenWindow ?? 10000;
    this._attempt = 0;
    this._closing = false;
    this._retryTimer = null;
  }

  // --- events ---------------------------------------------------------------------------------

  /**
   * Subscribe: `"event"` (every push), an event type (`"balance_changed"`, ...), `"replay_complete"`,
   * `"state"` (connection state changes), `"error"` (a failed reconnect). Returns an unsubscribe function.
   * @param {string} name
   * @param {(value: any) => void} handler
   * @returns {() => void}
   */
  on(name, handler) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set());
    this._handlers.get(name).add(handler);
    return () => this._handlers.get(name)?.delete(handler);
  }

  _emit(name, value) {
    for (const handler of [...(this._handlers.get(name) || [])]) {
      try { handler(value); } catch (err) { queueMicrotask(() => { throw err; }); }
    }
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this._emit("state", state);
  }

  // --- connection ----------------------------------------------------------------------------

  /**
   * Open the websocket and authenticate. Resolves with the `authenticate_result`.
   * Rejects with TokenRejectedError (not retried) or the connection error.
   */
  async connect() {
    this._closing = false;
    this._setState("connecting");
    try {
      return await this._open();
    } catch (err) {
      this._setState("closed");
      throw err;
    }
  }

  async _token_() {
    return typeof this._token === "function" ? await this._token() : this._token;
  }

  _open() {
    return new Promise((resolve, reject) => {
      let ws;
      try { ws = new this._WebSocket(this.url); } catch (err) { reject(err); return; }
      this._ws = ws;
      let authenticated = false;
      ws.onopen = async () => {
        try {
          const token = await this._token_();
          const fields = { token };
          if (this.lastEventId !== null) fields.last_event_id = this.lastEventId;
          const reply = await this._send("authenticate", fields, { socket: ws, resend: false });
          authenticated = true;
          this.playerId = reply.player_id;
          this._attempt = 0;
          this._setState("open");
          this._resendPending(ws);
          resolve(reply);
        } catch (err) {
          reject(err);
          try { ws.close(1000, "authentication failed"); } catch { /* already closed */ }
        }
      };
      ws.onmessage = (ev) => this._onFrame(ev.data);
      ws.onerror = () => { /* the close event follows */ };
      ws.onclose = (ev) => {
        if (this._ws === ws) this._ws = null;
        if (!authenticated) {
          reject(new ConnectionClosedError(`connection closed before authentication (${ev.code})`));
          this._rejectAuth(ws);
          return;
        }
        this._lost(ev.code);
      };
    });
  }

  _rejectAuth(ws) {
    for (const [id, p] of this._pending) {
      if (p.socket === ws) { clearTimeout(p.timer); this._pending.delete(id); p.reject(new ConnectionClosedError("connection closed")); }
    }
  }

  _lost(code) {
    if (this._closing) { this._setState("closed"); return; }
    this._setState("reconnecting");
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    if (this._attempt >= this.reconnect.maxAttempts) {
      this._setState("closed");
      this._failAll(new ConnectionClosedError("gave up reconnecting"));
      return;
    }
    const delay = backoffDelay(this._attempt, this.reconnect, this._random);
    this._attempt += 1;
    this._retryTimer = setTimeout(async () => {
      this._retryTimer = null;
      if (this._closing) return;
      try {
        await this._open();
      } catch (err) {
        this._emit("error", err);
        if (err instanceof TokenRejectedError) {
          this._setState("closed");
          this._failAll(err);
          return;
        }
        if (!this._closing && this.state !== "open") this._scheduleReconnect();
      }
    }, delay);
  }

  /** Close for good: pending requests fail with ConnectionClosedError. */
  close() {
    this._closing = true;
    if (this._retryTimer) { clearTimeout(this._retryTimer); this._retryTimer = null; }
    const ws = this._ws;
    this._ws = null;
    this._failAll(new ConnectionClosedError("client closed"));
    this._setState("closed");
    if (ws) { try { ws.close(1000, "bye"); } catch { /* already closed */ } }
  }

  /** Drop the socket without closing the client (as a network failure would); it reconnects. */
  dropConnection() {
    const ws = this._ws;
    if (!ws) return;
    if (typeof ws.terminate === "function") ws.terminate(); else ws.close(4000, "dropped");
  }

  _failAll(err) {
    for (const [, p] of this._pending) { clearTimeout(p.timer); p.reject(err); }
    this._pending.clear();
  }

  // --- frames ---------------------------------------------------------------------------------

  _onFrame(data) {
    let frame;
    try { frame = JSON.parse(typeof data === "string" ? data : String(data)); } catch { return; }
    if (frame.type === "event") return this._onPush(frame);
    if (frame.type === "replay_complete") return this._emit("replay_complete", frame);
    const pending = this._pending.get(frame.id);
    if (!pending) return;
    this._pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.type === "error") pending.reject(errorFor(frame, pending.requestId));
    else pending.resolve(frame);
  }

  _onPush(push) {
    const id = push.event_id;
    if (this._seen.has(id)) return;
    this._seen.add(id);
    this._seenOrder.push(id);
    if (this._seenOrder.length > this._seenWindow) this._seen.delete(this._seenOrder.shift());
    if (this.lastEventId === null || id > this.lastEventId) this.lastEventId = id;
    this._emit("event", push);
    this._emit(push.event, push);
  }

  // --- requests -------------------------------------------------------------------------------

  /**
   * Send one request and resolve with its reply; rejects with a GamepayError subclass.
   * Money-moving types get a request_id (kept when resent after a reconnect).
   * @param {string} type
   * @param {object} [fields]
   * @param {{timeout?: number}} [options]
   */
  request(type, fields = {}, options = {}) {
    fields = { ...fields };
    if (MONEY_MOVING.includes(type) && !fields.request_id) fields.request_id = newRequestId();
    return this._send(type, fields, { timeout: options.timeout, resend: true });
  }

  _send(type, fields, { socket = null, timeout, resend }) {
    const id = this._nextId++;
    const frame = { type, id, ...fields };
    return new Promise((resolve, reject) => {
      const ms = timeout ?? this.requestTimeout;
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new RequestTimeoutError(`no reply to ${type} within ${ms} ms`, { requestId: fields.request_id }));
      }, ms);
      const pending = { frame, resolve, reject, timer, requestId: fields.request_id, socket: resend ? null : socket, resend };
      this._pending.set(id, pending);
      const ws = socket || this._ws;
      if (ws && ws.readyState === OPEN && (socket || this.state === "open")) ws.send(JSON.stringify(frame));
      else if (!resend || this._closing || this.state === "closed" || this.state === "idle") {
        this._pending.delete(id);
        clearTimeout(timer);
        reject(new ConnectionClosedError(`not connected: ${type} was not sent`, { requestId: fields.request_id }));
      }
      // otherwise it waits for the reconnect, which sends it (same request_id)
    });
  }

  _resendPending(ws) {
    for (const [, p] of this._pending) {
      if (p.resend) ws.send(JSON.stringify(p.frame));
    }
  }

  // --- operations -----------------------------------------------------------------------------

  /** `ping`. */
  ping() { return this.request("ping"); }
  /** The catalog's items. */
  async catalog() { return (await this.request("catalog")).items; }
  /** The player's balances. */
  async balances() { return (await this.request("balance")).balances; }
  /** Past events after `after` (oldest first). */
  history({ after = 0, limit = 20 } = {}) { return this.request("history", { after, limit }); }
  /** Buy `sku` with the player's balance (once per request id). */
  buyWithBalance(sku, { requestId } = {}) { return this.request("buy_with_balance", { sku, request_id: requestId }); }
  /** Start a crypto purchase of `sku`: the payment instructions. */
  buyWithCrypto(sku, { requestId } = {}) { return this.request("buy_with_crypto", { sku, request_id: requestId }); }
  /** Start a top-up worth `amount` (decimal string) of fiat `currency`. */
  topUp(amount, currency, { requestId } = {}) { return this.request("top_up", { amount, currency, request_id: requestId }); }
  /** Withdraw `amount` (decimal string) of `asset` to `address`. */
  withdraw(asset, amount, address, { requestId } = {}) {
    return this.request("withdraw", { asset, amount, address, request_id: requestId });
  }
  /**
   * Offer `give` (held from this player at once) for `want` to `toPlayer`; each side a list of
   * `{asset, amount}` (decimal strings). Resolves with the trade (`trade_id`, `status`, ...).
   */
  async tradeOffer(toPlayer, give, want, { expiresIn = 3600, requestId } = {}) {
    const fields = { to_player: toPlayer, give, want, expires_in: expiresIn, request_id: requestId };
    return (await this.request("trade_offer", fields)).trade;
  }
  /** Accept a trade offered to this player: both sides move at once. Resolves with the trade. */
  async tradeAccept(tradeId, { requestId } = {}) {
    return (await this.request("trade_accept", { trade_id: tradeId, request_id: requestId })).trade;
  }
  /** Decline a trade offered to this player (the proposer's side is released). */
  async tradeDecline(tradeId, { requestId } = {}) {
    return (await this.request("trade_decline", { trade_id: tradeId, request_id: requestId })).trade;
  }
  /** Cancel this player's own offer (its side is released). */
  async tradeCancel(tradeId, { requestId } = {}) {
    return (await this.request("trade_cancel", { trade_id: tradeId, request_id: requestId })).trade;
  }
  /** This player's trades, newest first (by default only the open ones). */
  async trades({ openOnly = true, limit = 20 } = {}) {
    return (await this.request("trade_list", { open_only: openOnly, limit })).trades;
  }
  /** The intent paying the next period of subscription `sku` (one per period, no request id). */
  renewSubscription(sku) { return this.request("renew_subscription", { sku }); }
  /** The player's subscriptions: each one's latest paid period and whether its pass is held. */
  async subscriptions() { return (await this.request("subscriptions")).subscriptions; }
}
