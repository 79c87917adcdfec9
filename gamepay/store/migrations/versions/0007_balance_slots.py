"""Balance slots (no hot accounts) and, on PostgreSQL, ``gp_post``: a posting in one round trip.

``gp_balances`` gets a ``slot`` column in its primary key. A player's balance is one row (slot
0), row-locked and exact. A system account's balance in an asset is the sum of up to
``SLOTS`` rows: a posting that cannot drive it below zero (a credit, or any posting to an
account that may go negative) adds its delta to ONE random slot, so concurrent buys do not queue
on one shared row; a debit of a system account that may not go negative (a reward pool,
revenue's refunds) locks every slot in slot order and checks their sum (race-free: the other
postings only ever add to a slot). Every slot of a system account stays within
``+-(2**256-1) / SLOTS`` (``SLOTS`` divides ``2**256-1``), so the sum stays within
``+-(2**256-1)`` whatever runs concurrently; a posting that would push a slot past that bound
locks every slot and checks the sum exactly. SQLite keeps one row per balance (slot 0): its
writers are serialized anyway.

``gp_post`` (PostgreSQL only) runs the ledger's posting skeleton (``gamepay.ledger.postings``)
server-side: lock -> check -> claim the idempotency key -> insert transfers -> write balances,
in one call, so a transfer is BEGIN, one statement, COMMIT. It never raises for a refused
posting: it answers ``funds`` or ``range`` (with the account and asset) or ``taken`` (the key
exists: the caller replays) before writing anything, so the caller's transaction stays usable.

Revision ID: 0007_balance_slots
Revises: 0005_hold_transfers
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import Amount

__all__ = [
    "GP_LOCK_SLOTS",
    "GP_POST",
    "SPREAD",
    "branch_labels",
    "depends_on",
    "down_revision",
    "downgrade",
    "revision",
    "upgrade",
]

revision = "0007_balance_slots"
down_revision: str | None = "0005_hold_transfers"
branch_labels: str | None = None
depends_on: str | None = None

GP_LOCK_SLOTS = """
CREATE OR REPLACE FUNCTION gp_lock_slots(
    p_account text, p_asset text, p_slots int,
    OUT total_available numeric, OUT total_held numeric,
    OUT slot0_available numeric, OUT slot0_held numeric
) LANGUAGE plpgsql AS $$
BEGIN
    -- every slot exists (so no credit can add one unseen), then all are locked in slot order
    IF (SELECT count(*) FROM gp_balances b
        WHERE b.account_id = p_account AND b.asset = p_asset) < p_slots THEN
        INSERT INTO gp_balances (account_id, asset, slot, available, held)
        SELECT p_account, p_asset, g, 0, 0 FROM generate_series(0, p_slots - 1) AS g
        ON CONFLICT DO NOTHING;
    END IF;
    SELECT sum(x.available), sum(x.held),
           sum(x.available) FILTER (WHERE x.slot = 0), sum(x.held) FILTER (WHERE x.slot = 0)
      INTO total_available, total_held, slot0_available, slot0_held
      FROM (SELECT b.slot, b.available, b.held FROM gp_balances b
            WHERE b.account_id = p_account AND b.asset = p_asset
            ORDER BY b.slot FOR UPDATE) AS x;
END $$;
"""
"""Lock every slot of a system account's balance; their sums and slot 0's values."""

GP_POST = """
CREATE OR REPLACE FUNCTION gp_post(
    p_claim text, p_claim_id text, p_claim_arg text, p_posted numeric,
    p_accounts text[], p_assets text[], p_modes int[], p_avail numeric[], p_held numeric[],
    p_ids text[], p_batches text[], p_holds text[], p_phases text[], p_debits text[],
    p_credits text[], p_tassets text[], p_amounts numeric[], p_kinds text[], p_memos text[],
    p_now timestamptz, p_slots int, p_max numeric
) RETURNS TABLE (
    outcome text, out_account text, out_asset text, out_available numeric, out_held numeric
)
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(cardinality(p_accounts), 0);
    bound numeric := div(p_max, p_slots);
    way text[] := array_fill('skip'::text, ARRAY[n]);
    slot_of int[] := array_fill(0, ARRAY[n]);
    new_a numeric[] := array_fill(0::numeric, ARRAY[n]);
    new_h numeric[] := array_fill(0::numeric, ARRAY[n]);
    zero_a numeric[] := array_fill(0::numeric, ARRAY[n]);
    zero_h numeric[] := array_fill(0::numeric, ARRAY[n]);
    i int; s int; a numeric; h numeric; a0 numeric; h0 numeric; r record;
BEGIN
    -- 1. lock: the players' rows first (one statement, in key order), then each system key
    --    (in key order): every posting takes its locks in that one order
    FOR r IN SELECT k.ord, b.available, b.held
               FROM unnest(p_accounts, p_assets, p_modes) WITH ORDINALITY AS k(acc, ast, md, ord)
               JOIN gp_balances AS b
                 ON b.account_id = k.acc AND b.asset = k.ast AND b.slot = 0
              WHERE k.md = 0
              ORDER BY b.account_id, b.asset FOR UPDATE OF b LOOP
        way[r.ord] := 'row';
        new_a[r.ord] := r.available + p_avail[r.ord];
        new_h[r.ord] := r.held + p_held[r.ord];
    END LOOP;
    IF 0 = ANY(p_modes) AND 'skip' = ANY(way) THEN  -- a player's first balance in an asset
        INSERT INTO gp_balances (account_id, asset, slot, available, held)
        SELECT k.acc, k.ast, 0, 0, 0
          FROM unnest(p_accounts, p_assets, p_modes, way) AS k(acc, ast, md, w)
         WHERE k.md = 0 AND k.w = 'skip'
         ORDER BY k.acc, k.ast ON CONFLICT DO NOTHING;
        FOR r IN SELECT k.ord, b.available, b.held
                   FROM unnest(p_accounts, p_assets, p_modes, way) WITH ORDINALITY
                        AS k(acc, ast, md, w, ord)
                   JOIN gp_balances AS b
                     ON b.account_id = k.acc AND b.asset = k.ast AND b.slot = 0
                  WHERE k.md = 0 AND k.w = 'skip'
                  ORDER BY b.account_id, b.asset FOR UPDATE OF b LOOP
            way[r.ord] := 'row';
            new_a[r.ord] := r.available + p_avail[r.ord];
            new_h[r.ord] := r.held + p_held[r.ord];
        END LOOP;
    END IF;
    FOR i IN 1..n LOOP
        IF p_modes[i] = 0 THEN
            CONTINUE;
        END IF;
        IF p_avail[i] = 0 AND p_held[i] = 0 THEN
            CONTINUE;
        END IF;
        IF p_modes[i] = 1 OR p_avail[i] >= 0 THEN  -- cannot overdraw: one random slot
            s := floor(random() * p_slots)::int;
            SELECT b.available, b.held INTO a, h FROM gp_balances b
             WHERE b.account_id = p_accounts[i] AND b.asset = p_assets[i] AND b.slot = s
             FOR UPDATE;
            IF NOT FOUND THEN
                INSERT INTO gp_balances (account_id, asset, slot, available, held)
                VALUES (p_accounts[i], p_assets[i], s, 0, 0) ON CONFLICT DO NOTHING;
                SELECT b.available, b.held INTO a, h FROM gp_balances b
                 WHERE b.account_id = p_accounts[i] AND b.asset = p_assets[i] AND b.slot = s
                 FOR UPDATE;
            END IF;
            IF abs(a + p_avail[i]) <= bound AND abs(h + p_held[i]) <= bound THEN
                way[i] := 'slot';
                slot_of[i] := s;
                new_a[i] := a + p_avail[i];
                new_h[i] := h + p_held[i];
                CONTINUE;
            END IF;
        END IF;
        -- a guarded debit, or a slot that would leave its bound: every slot, exactly
        SELECT l.total_available, l.total_held, l.slot0_available, l.slot0_held
          INTO a, h, a0, h0 FROM gp_lock_slots(p_accounts[i], p_assets[i], p_slots) AS l;
        way[i] := 'all';
        new_a[i] := a + p_avail[i];
        new_h[i] := h + p_held[i];
        zero_a[i] := a0;
        zero_h[i] := h0;
    END LOOP;

    -- 2. check: funds first (keys spending below zero that may not), then the range
    FOR i IN 1..n LOOP
        IF way[i] IN ('row', 'all') AND p_modes[i] <> 1 AND p_avail[i] < 0 AND new_a[i] < 0 THEN
            RETURN QUERY SELECT 'funds'::text, p_accounts[i], p_assets[i], NULL::numeric,
                NULL::numeric;
            RETURN;
        END IF;
    END LOOP;
    FOR i IN 1..n LOOP
        IF way[i] IN ('row', 'all') AND (abs(new_a[i]) > p_max OR abs(new_h[i]) > p_max) THEN
            RETURN QUERY SELECT 'range'::text, p_accounts[i], p_assets[i], NULL::numeric,
                NULL::numeric;
            RETURN;
        END IF;
    END LOOP;

    -- 3. claim the idempotency key
    IF p_claim = 'transfer' THEN
        INSERT INTO gp_transfers (id, batch_id, hold_id, phase, debit, credit, asset, amount,
                                  kind, memo, created_at)
        VALUES (p_ids[1], p_batches[1], p_holds[1], p_phases[1], p_debits[1], p_credits[1],
                p_tassets[1], p_amounts[1], p_kinds[1], p_memos[1], p_now)
        ON CONFLICT (id) DO NOTHING;
    ELSIF p_claim = 'batch' THEN
        INSERT INTO gp_batches (id, content_hash, created_at)
        VALUES (p_claim_id, p_claim_arg, p_now) ON CONFLICT (id) DO NOTHING;
    ELSIF p_claim = 'hold' THEN
        INSERT INTO gp_holds (id, debit, credit, asset, amount, posted_amount, status, kind,
                              memo, created_at, resolved_at)
        VALUES (p_claim_id, p_debits[1], p_credits[1], p_tassets[1], p_amounts[1], NULL,
                'pending', p_kinds[1], p_memos[1], p_now, NULL)
        ON CONFLICT (id) DO NOTHING;
    ELSIF p_claim = 'resolve' THEN
        UPDATE gp_holds SET status = p_claim_arg, posted_amount = p_posted, resolved_at = p_now
         WHERE id = p_claim_id AND status = 'pending';
    ELSE
        RAISE EXCEPTION 'gp_post: unknown claim %', p_claim;
    END IF;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'taken'::text, NULL::text, NULL::text, NULL::numeric,
            NULL::numeric;
        RETURN;
    END IF;

    -- 4. insert the transfers (a taken id raises unique_violation: IdempotencyConflict)
    IF p_claim <> 'transfer' OR cardinality(p_ids) > 1 THEN
        INSERT INTO gp_transfers (id, batch_id, hold_id, phase, debit, credit, asset, amount,
                                  kind, memo, created_at)
        SELECT t.id, t.batch_id, t.hold_id, t.phase, t.debit, t.credit, t.asset, t.amount,
               t.kind, t.memo, p_now
          FROM unnest(p_ids, p_batches, p_holds, p_phases, p_debits, p_credits, p_tassets,
                      p_amounts, p_kinds, p_memos) WITH ORDINALITY
               AS t(id, batch_id, hold_id, phase, debit, credit, asset, amount, kind, memo, ord)
         WHERE p_claim <> 'transfer' OR t.ord > 1
         ORDER BY t.ord;
    END IF;

    -- 5. write the balances
    UPDATE gp_balances AS b SET available = v.a, held = v.h
      FROM unnest(p_accounts, p_assets, new_a, new_h, way, p_avail, p_held)
           AS v(acc, ast, a, h, w, da, dh)
     WHERE v.w = 'row' AND (v.da <> 0 OR v.dh <> 0)
       AND b.account_id = v.acc AND b.asset = v.ast AND b.slot = 0;
    FOR i IN 1..n LOOP
        IF way[i] = 'slot' THEN
            UPDATE gp_balances SET available = new_a[i], held = new_h[i]
             WHERE account_id = p_accounts[i] AND asset = p_assets[i] AND slot = slot_of[i];
        ELSIF way[i] = 'all' THEN
            IF abs(zero_a[i] + p_avail[i]) <= bound AND abs(zero_h[i] + p_held[i]) <= bound THEN
                UPDATE gp_balances SET available = zero_a[i] + p_avail[i],
                                       held = zero_h[i] + p_held[i]
                 WHERE account_id = p_accounts[i] AND asset = p_assets[i] AND slot = 0;
            ELSE  -- spread the new total evenly: every slot stays within the bound
                UPDATE gp_balances AS b
                   SET available = sign(new_a[i]) * (div(abs(new_a[i]), p_slots)
                           + CASE WHEN b.slot < mod(abs(new_a[i]), p_slots) THEN 1 ELSE 0 END),
                       held = sign(new_h[i]) * (div(abs(new_h[i]), p_slots)
                           + CASE WHEN b.slot < mod(abs(new_h[i]), p_slots) THEN 1 ELSE 0 END)
                 WHERE b.account_id = p_accounts[i] AND b.asset = p_assets[i];
            END IF;
        END IF;
    END LOOP;
    RETURN QUERY SELECT 'ok'::text, k.acc, k.ast, k.a, k.h
      FROM unnest(p_accounts, p_assets, new_a, new_h, way) AS k(acc, ast, a, h, w)
     WHERE k.w IN ('row', 'all');
    RETURN QUERY SELECT 'done'::text, NULL::text, NULL::text, NULL::numeric, NULL::numeric;
END $$;
"""
"""The posting skeleton in one call (see the module docstring)."""


SPREAD = """
DO $$ DECLARE k record; BEGIN
    FOR k IN SELECT b.account_id, b.asset, b.available, b.held
               FROM gp_balances AS b JOIN gp_accounts AS a ON a.id = b.account_id
              WHERE a.kind <> 'player' AND (abs(b.available) > div(MAX_, SLOTS_)
                                            OR abs(b.held) > div(MAX_, SLOTS_)) LOOP
        PERFORM gp_lock_slots(k.account_id, k.asset, SLOTS_);
        UPDATE gp_balances AS b
           SET available = sign(k.available) * (div(abs(k.available), SLOTS_)
                   + CASE WHEN b.slot < mod(abs(k.available), SLOTS_) THEN 1 ELSE 0 END),
               held = sign(k.held) * (div(abs(k.held), SLOTS_)
                   + CASE WHEN b.slot < mod(abs(k.held), SLOTS_) THEN 1 ELSE 0 END)
         WHERE b.account_id = k.account_id AND b.asset = k.asset;
    END LOOP;
END $$;
""".replace("MAX_", str(2**256 - 1)).replace("SLOTS_", "51")
"""Spread a system balance already beyond one slot's bound over every slot (51 is the
ledger's ``BALANCE_SLOTS`` when this revision was written)."""


def upgrade() -> None:
    """Add ``gp_balances.slot`` to the primary key; on PostgreSQL create the functions."""
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "gp_balances",
            sa.Column("slot", sa.SmallInteger, nullable=False, server_default=sa.text("0")),
        )
        op.execute("ALTER TABLE gp_balances DROP CONSTRAINT gp_balances_pkey")
        op.execute("ALTER TABLE gp_balances ADD PRIMARY KEY (account_id, asset, slot)")
        op.execute(GP_LOCK_SLOTS)
        op.execute(GP_POST)
        op.execute(SPREAD)
    else:
        _rebuild_sqlite(with_slot=True)


def downgrade() -> None:
    """Fold the slots back into one row per balance and drop ``slot`` (and the functions)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS gp_post")
        op.execute("DROP FUNCTION IF EXISTS gp_lock_slots")
        op.execute(
            "UPDATE gp_balances AS b SET available = s.available, held = s.held FROM"
            " (SELECT account_id, asset, sum(available) AS available, sum(held) AS held"
            " FROM gp_balances GROUP BY account_id, asset) AS s"
            " WHERE b.account_id = s.account_id AND b.asset = s.asset AND b.slot = 0"
        )
        op.execute(
            "INSERT INTO gp_balances (account_id, asset, slot, available, held)"
            " SELECT account_id, asset, 0, sum(available), sum(held) FROM gp_balances"
            " GROUP BY account_id, asset HAVING bool_and(slot <> 0)"
        )
        op.execute("DELETE FROM gp_balances WHERE slot <> 0")
        op.execute("ALTER TABLE gp_balances DROP CONSTRAINT gp_balances_pkey")
        op.execute("ALTER TABLE gp_balances ADD PRIMARY KEY (account_id, asset)")
        op.drop_column("gp_balances", "slot")
        return
    _rebuild_sqlite(with_slot=False)


def _rebuild_sqlite(*, with_slot: bool) -> None:
    """SQLite cannot change a primary key: copy gp_balances into a new table (every SQLite
    balance is one row, slot 0)."""
    columns: list[sa.Column[Any]] = [
        sa.Column("account_id", sa.String(200), sa.ForeignKey("gp_accounts.id"), primary_key=True),
        sa.Column("asset", sa.String(200), sa.ForeignKey("gp_assets.id"), primary_key=True),
        sa.Column("available", Amount, nullable=False),
        sa.Column("held", Amount, nullable=False),
    ]
    if with_slot:
        columns.append(
            sa.Column(
                "slot",
                sa.SmallInteger,
                primary_key=True,
                nullable=False,
                server_default=sa.text("0"),
                autoincrement=False,
            )
        )
    op.create_table("gp_balances_new", *columns)
    op.execute(
        "INSERT INTO gp_balances_new (account_id, asset, available, held)"
        " SELECT account_id, asset, available, held FROM gp_balances"
    )
    op.drop_table("gp_balances")
    op.rename_table("gp_balances_new", "gp_balances")
