"""``gp_post_order`` (PostgreSQL): an order row, its ledger posting and its events in one call.

A buy with a balance writes an order, posts a batch and records its events in one transaction.
As statements that is BEGIN, four round trips and COMMIT; ``gp_post_order`` does all of it in one
statement (run on its own it is its own transaction: one round trip), keeping every check:

1. the order row (``p_order``, a ``gp_orders`` row as JSON) is inserted unless the player already
   made an order with its ``request_id``: then nothing else happens and the answer is one
   ``replay`` row (the caller reads that order and compares it);
2. the posting is ``gp_post`` with its own arguments (revision ``0007_balance_slots``); a refused
   posting (``funds``, ``range``, ``taken``) raises SQLSTATE ``GP001`` whose detail is
   ``[why, account, asset]``, so the order row is rolled back with it and nothing is written;
3. the events are inserted in order, for ``p_player``; an event naming a balance
   (``p_event_accounts``/``p_event_assets`` not NULL) gets ``"available"`` and ``"held"`` of that
   balance as the posting left it appended to its JSON text (the caller knows them from the
   answer's ``ok`` rows, so it can publish the same payload).

The answer: ``gp_post``'s ``ok`` rows (the balances it vouches for), then one ``event`` row per
event with its id, ascending. It calls ``gp_post`` (another branch, ``0007_balance_slots``):
PL/pgSQL resolves it at call time, and ``Store.migrate`` applies every branch.

Revision ID: 0011_post_order
Revises: 0010_order_bundles
"""

from __future__ import annotations

from alembic import op

__all__ = [
    "GP_POST_ORDER",
    "branch_labels",
    "depends_on",
    "down_revision",
    "downgrade",
    "revision",
    "upgrade",
]

revision = "0011_post_order"
down_revision: str | None = "0010_order_bundles"
branch_labels: str | None = None
depends_on: str | None = None

GP_POST_ORDER = """
CREATE OR REPLACE FUNCTION gp_post_order(
    p_order jsonb, p_player text, p_event_types text[], p_event_payloads text[],
    p_event_accounts text[], p_event_assets text[], p_events_at timestamptz,
    p_claim text, p_claim_id text, p_claim_arg text, p_posted numeric,
    p_accounts text[], p_assets text[], p_modes int[], p_avail numeric[], p_held numeric[],
    p_ids text[], p_batches text[], p_holds text[], p_phases text[], p_debits text[],
    p_credits text[], p_tassets text[], p_amounts numeric[], p_kinds text[], p_memos text[],
    p_now timestamptz, p_slots int, p_max numeric
) RETURNS TABLE (
    outcome text, out_account text, out_asset text, out_available numeric, out_held numeric,
    out_event bigint
)
LANGUAGE plpgsql AS $$
DECLARE
    v_acc text[] := '{}';
    v_ast text[] := '{}';
    v_av numeric[] := '{}';
    v_hd numeric[] := '{}';
    r record;
BEGIN
    INSERT INTO gp_orders SELECT * FROM jsonb_populate_record(NULL::gp_orders, p_order)
    ON CONFLICT (player_id, request_id) DO NOTHING;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'replay'::text, NULL::text, NULL::text, NULL::numeric,
            NULL::numeric, NULL::bigint;
        RETURN;
    END IF;
    FOR r IN SELECT * FROM gp_post(p_claim, p_claim_id, p_claim_arg, p_posted, p_accounts,
                                   p_assets, p_modes, p_avail, p_held, p_ids, p_batches,
                                   p_holds, p_phases, p_debits, p_credits, p_tassets,
                                   p_amounts, p_kinds, p_memos, p_now, p_slots, p_max) LOOP
        IF r.outcome IN ('funds', 'range', 'taken') THEN
            RAISE EXCEPTION 'gp_post_order: the posting was refused (%)', r.outcome
                USING ERRCODE = 'GP001',
                      DETAIL = json_build_array(r.outcome, r.out_account, r.out_asset)::text;
        ELSIF r.outcome = 'ok' THEN
            v_acc := v_acc || r.out_account;
            v_ast := v_ast || r.out_asset;
            v_av := v_av || r.out_available;
            v_hd := v_hd || r.out_held;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM unnest(p_event_accounts, p_event_assets) AS e(acc, ast)
                WHERE e.acc IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM unnest(v_acc, v_ast) AS b(acc, ast)
                                   WHERE b.acc = e.acc AND b.ast = e.ast)) THEN
        RAISE EXCEPTION 'gp_post_order: an event names a balance the posting did not leave';
    END IF;
    RETURN QUERY SELECT 'ok'::text, b.acc, b.ast, b.a, b.h, NULL::bigint
      FROM unnest(v_acc, v_ast, v_av, v_hd) AS b(acc, ast, a, h);
    RETURN QUERY WITH written AS (
        INSERT INTO gp_events (player_id, type, payload, created_at)
        SELECT p_player, e.t,
               CASE WHEN e.acc IS NULL THEN e.p
                    ELSE left(e.p, -1) || ',"available":"' || b.a::text || '","held":"'
                         || b.h::text || '"}' END,
               p_events_at
          FROM unnest(p_event_types, p_event_payloads, p_event_accounts, p_event_assets)
               WITH ORDINALITY AS e(t, p, acc, ast, ord)
          LEFT JOIN unnest(v_acc, v_ast, v_av, v_hd) AS b(acc, ast, a, h)
                 ON b.acc = e.acc AND b.ast = e.ast
         ORDER BY e.ord
        RETURNING id)
    SELECT 'event'::text, NULL::text, NULL::text, NULL::numeric, NULL::numeric, w.id
      FROM written AS w ORDER BY w.id;
END $$;
"""
"""An order, its posting and its events in one call (see the module docstring)."""


def upgrade() -> None:
    """On PostgreSQL create ``gp_post_order`` (SQLite has nothing to do)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GP_POST_ORDER)


def downgrade() -> None:
    """Drop ``gp_post_order``."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gp_post_order")
