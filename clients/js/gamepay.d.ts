// Types of gamepay.js: the official client of the gamepay websocket protocol 2 (docs/protocol.md).

export declare const PROTOCOL: 2;
export declare const MONEY_MOVING: readonly [
  "buy_with_balance", "buy_with_crypto", "top_up", "withdraw",
  "trade_offer", "trade_accept", "trade_decline", "trade_cancel",
];

/** An amount of one ledger asset: a decimal string in the asset's units, beside its id, code and decimals. */
export interface AssetAmount {
  asset: string;
  code: string;
  decimals: number;
  amount: string;
}

export interface CatalogItem {
  sku: string;
  title: string;
  /** Fiat price, decimal string. */
  price: string;
  currency: string;
  /** The first of `grants` (kept for clients from before bundles). */
  grant: AssetAmount;
  /** Everything one purchase grants: one part, or a bundle's parts (all in one order). */
  grants: AssetAmount[];
  balance_price: AssetAmount | null;
  /** On sale from this RFC 3339 UTC time (inclusive), or null. */
  available_from: string | null;
  /** On sale until this RFC 3339 UTC time (exclusive), or null. */
  available_until: string | null;
  /** The most orders of this item one player may hold (paid or still payable), or null. */
  max_per_player: number | null;
}

export interface Balance {
  asset: string;
  code: string;
  decimals: number;
  available: string;
  held: string;
}

export interface Reply {
  type: string;
  id: number | string;
  [field: string]: unknown;
}

export interface AuthenticateResult extends Reply {
  type: "authenticate_result";
  player_id: string;
  protocol: 2;
}

export interface OrderResult extends Reply {
  order_id: string;
  sku: string;
  status: string;
  price: AssetAmount | null;
}

export interface PaymentInstructions extends Reply {
  order_id: string;
  payment_intent_id: string | null;
  asset: string;
  code: string;
  decimals: number;
  /** Exactly this much of the token, in its units. */
  amount: string;
  chain: string;
  /** The token's contract address. */
  token: string;
  /** Where to pay. */
  address: string;
  /** Unix seconds. */
  deadline: number;
  fiat_amount: string | null;
  fiat_currency: string | null;
}

export interface WithdrawResult extends Reply {
  withdrawal_id: string;
  status: string;
  asset: string;
  code: string;
  decimals: number;
  amount: string;
  address: string;
  tx_hash: string | null;
}

export type EventType =
  | "order_status_changed" | "asset_granted" | "balance_changed" | "withdrawal_status_changed"
  | "trade_changed" | "subscription_changed" | "renewal_offered";

/** One side's line of an offer, as sent: an asset id and a decimal amount in its units. */
export interface TradeLine {
  asset: string;
  amount: string;
}

/** A trade as this player sees it (`trade_offer` / `trade_accept` / ... / `trade_list`). */
export interface Trade {
  trade_id: string;
  status: "open" | "accepted" | "declined" | "cancelled" | "expired";
  role: "proposer" | "recipient";
  from_player: string;
  to_player: string;
  give: AssetAmount[];
  want: AssetAmount[];
  created_at: string;
  expires_at: string;
  closed_at: string | null;
}

export interface Push {
  type: "event";
  event_id: number;
  event: EventType | string;
  /** Amounts are decimal strings beside asset, code and decimals; base units as `<field>_base_units`. */
  data: Record<string, unknown>;
  /** The server's time of the change (ISO 8601). */
  created_at: string | null;
}

export interface HistoryResult extends Reply {
  entries: Array<Omit<Push, "type">>;
  next_after: number;
}

export interface ReconnectPolicy {
  /** ms before the first attempt (default 250). */
  initialDelay?: number;
  /** cap in ms (default 10000). */
  maxDelay?: number;
  /** growth per attempt (default 2). */
  factor?: number;
  /** 0..1: a delay is cut by up to this fraction at random (default 0.5). */
  jitter?: number;
  /** attempts before giving up (default Infinity). */
  maxAttempts?: number;
}

export interface ClientOptions {
  /** ws(s)://host/ws */
  url: string;
  /** The player's JWT, or a function returning one (called on every (re)connect). */
  token: string | (() => string | Promise<string>);
  /** The WebSocket class: the browser's by default; in Node pass `ws`'s. */
  WebSocket?: unknown;
  /** ms before a request fails with RequestTimeoutError (default 15000). */
  requestTimeout?: number;
  reconnect?: ReconnectPolicy;
  /** Replay pushes after this event id on connect (default 0: everything; null: live only). */
  lastEventId?: number | null;
  /** Event ids remembered for de-duplication (default 10000). */
  seenWindow?: number;
  /** Random source for the jitter (tests). */
  random?: () => number;
}

export type ClientState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export declare class GamepayError extends Error {
  constructor(code: string, message: string, extra?: { requestId?: string; reply?: object });
  /** The protocol's stable error code (docs/protocol.md), or request_timeout / connection_closed. */
  readonly code: string;
  /** The request_id of a money-moving call: call again with it to resend safely. */
  readonly requestId?: string;
  readonly reply?: object;
}
export declare class TokenRejectedError extends GamepayError {}
export declare class RateLimitedError extends GamepayError {}
export declare class RequestTimeoutError extends GamepayError {}
export declare class ConnectionClosedError extends GamepayError {}

export declare function errorFor(reply: { code: string; message: string }, requestId?: string): GamepayError;
export declare function newRequestId(): string;
export declare function backoffDelay(
  attempt: number,
  policy: Required<Pick<ReconnectPolicy, "initialDelay" | "maxDelay" | "factor" | "jitter">>,
  random?: () => number,
): number;

/** A subscription's latest paid period (ISO 8601 times). */
export interface Subscription {
  sku: string;
  period_index: number;
  period_start: string;
  period_end: string;
  pass_until: string;
  started_at: string;
  held: boolean;
}

/** The intent paying period `period_index` of a subscription. */
export type Renewal = PaymentInstructions & { sku: string; period_index: number };

export declare class GamepayClient {
  constructor(options: ClientOptions);
  readonly url: string;
  readonly state: ClientState;
  readonly playerId: string | null;
  /** The highest event_id received (sent as last_event_id when reconnecting). */
  readonly lastEventId: number | null;

  connect(): Promise<AuthenticateResult>;
  close(): void;
  /** Drop the socket as a network failure would (the client reconnects). */
  dropConnection(): void;

  on(name: "event", handler: (push: Push) => void): () => void;
  on(name: EventType, handler: (push: Push) => void): () => void;
  on(name: "replay_complete", handler: (frame: { type: "replay_complete"; last_event_id: number }) => void): () => void;
  on(name: "state", handler: (state: ClientState) => void): () => void;
  on(name: "error", handler: (error: Error) => void): () => void;
  on(name: string, handler: (value: any) => void): () => void;

  request<T extends Reply = Reply>(type: string, fields?: object, options?: { timeout?: number }): Promise<T>;
  ping(): Promise<Reply>;
  catalog(): Promise<CatalogItem[]>;
  balances(): Promise<Balance[]>;
  history(options?: { after?: number; limit?: number }): Promise<HistoryResult>;
  buyWithBalance(sku: string, options?: { requestId?: string }): Promise<OrderResult>;
  buyWithCrypto(sku: string, options?: { requestId?: string }): Promise<PaymentInstructions>;
  topUp(amount: string, currency: "TWD" | "USD", options?: { requestId?: string }): Promise<PaymentInstructions>;
  withdraw(asset: string, amount: string, address: string, options?: { requestId?: string }): Promise<WithdrawResult>;
  tradeOffer(
    toPlayer: string, give: TradeLine[], want: TradeLine[],
    options?: { expiresIn?: number; requestId?: string },
  ): Promise<Trade>;
  tradeAccept(tradeId: string, options?: { requestId?: string }): Promise<Trade>;
  tradeDecline(tradeId: string, options?: { requestId?: string }): Promise<Trade>;
  tradeCancel(tradeId: string, options?: { requestId?: string }): Promise<Trade>;
  trades(options?: { openOnly?: boolean; limit?: number }): Promise<Trade[]>;
  renewSubscription(sku: string): Promise<Renewal>;
  subscriptions(): Promise<Subscription[]>;
}
