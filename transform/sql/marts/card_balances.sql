-- grain: one Standard card with a snapshot. The balance its latest snapshot reports, and the
-- one its history explains: opening + Completed card-log effects + effect(t), up to the
-- snapshot. Opening 0 when the card's ApplyCard log is in the history, else the earliest
-- stored snapshot; with neither, no computed balance (insufficient history). The
-- card_balance check compares the two.
create or replace view core.card_balances as
with cards as (
    select * from staging.stg_cards where card_model = 'Standard'
),
log_effects as (
    select
        l.card_id,
        sum(m.balance_sign * case m.balance_amount when 'total_amount' then l.total_amount
                                                   else l.trans_amount end)
            filter (where l.completed_at <= c.snapshot_at) as to_snapshot,
        sum(m.balance_sign * case m.balance_amount when 'total_amount' then l.total_amount
                                                   else l.trans_amount end)
            filter (where l.completed_at <= c.first_snapshot_at) as to_first_snapshot,
        bool_or(l.log_type = 'ApplyCard') as has_opening_log
    from core.card_account_logs l
    join cards c using (card_id)
    join recon.card_log_effects m using (log_type, funds_direction)
    where l.status = 'Completed'
    group by l.card_id
),
txn_effects as (
    select * from staging.stg_card_transaction_effects
),
history_ends as (
    -- the snapshot holds what happened up to it: its history is complete only when the card
    -- logs and the transactions were both extracted up to it, as for account_balance
    select
        c.card_id,
        coalesce(l.covered_until >= c.snapshot_at and t.covered_until >= c.snapshot_at, false)
            as is_covered
    from cards c
    left join staging.stg_coverage l on l.stream = 'card_account_logs'
    left join staging.stg_coverage t on t.stream = 'transactions'
),
computed as (
    select
        c.*,
        coalesce(l.has_opening_log, false) as has_opening_log,
        h.is_covered,
        case
            when coalesce(l.has_opening_log, false)
                then coalesce(l.to_snapshot, 0) + coalesce(t.to_snapshot, 0)
            when c.snapshots > 1
                then c.first_balance
                     + coalesce(l.to_snapshot, 0) - coalesce(l.to_first_snapshot, 0)
                     + coalesce(t.to_snapshot, 0) - coalesce(t.to_first_snapshot, 0)
        end as computed_balance
    from cards c
    left join log_effects l using (card_id)
    left join txn_effects t using (card_id)
    left join history_ends h using (card_id)
),
final as (
    select
        card_id,
        currency,
        balance as reported_balance,
        computed_balance,
        balance - computed_balance as difference,
        snapshot_at,
        case
            when computed_balance is null
                then 'insufficient_history: the card''s ApplyCard log is outside the extracted '
                     || 'history and only one snapshot is stored; the next run can roll it forward'
            when has_opening_log then 'snapshot ' || balance || ' vs computed ' || computed_balance
                || ' (from the opening top-up)'
            else 'snapshot ' || balance || ' vs computed ' || computed_balance
                || ' (rolled forward from the snapshot of ' || first_snapshot_at || ')'
        end as detail,
        has_opening_log,
        is_covered
    from computed
)
select * from final;
comment on view core.card_balances is 'Each Standard card: the balance its latest snapshot reports vs the balance computed from its card logs and transactions (null when the history is insufficient). The card_balance check compares them.';
comment on column core.card_balances.card_id is 'The Standard card.';
comment on column core.card_balances.currency is 'The card''s currency.';
comment on column core.card_balances.reported_balance is 'The balance its latest snapshot reports.';
comment on column core.card_balances.computed_balance is 'Opening + card-log effects + transaction effects up to the snapshot (null: insufficient history).';
comment on column core.card_balances.difference is 'reported_balance - computed_balance.';
comment on column core.card_balances.snapshot_at is 'When the snapshot was taken (UTC).';
comment on column core.card_balances.detail is 'How the balance was computed, or why it could not be.';
comment on column core.card_balances.has_opening_log is 'Whether the card''s ApplyCard log is in the history (the balance is computed from 0), else it is rolled forward from the earliest snapshot.';
comment on column core.card_balances.is_covered is 'Whether the card logs and the transactions were extracted up to the snapshot; if not, the snapshot holds activity never extracted and card_balance counts the card out of window.';
