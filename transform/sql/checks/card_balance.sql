-- grain: one Standard card with a snapshot.
-- invariant: snapshot balance = opening + sum of Completed card-log effects + sum of effect(t),
-- up to the snapshot. Opening 0 when the card's ApplyCard log is in the history, else
-- the earliest stored snapshot; with neither, the card is reported as info (insufficient history).
-- A snapshot taken after the end of the card-log or transaction coverage holds activity never
-- extracted (a closed period reconciled later): out of window, as for account_balance.
with cards as (
    select * from recon.cards where card_model = 'Standard'
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
        bool_or(l.log_type = 'ApplyCard') as has_opening
    from core.card_account_logs l
    join cards c using (card_id)
    join recon.card_log_effects m using (log_type, funds_direction)
    where l.status = 'Completed'
    group by l.card_id
),
txn_effects as (
    select * from recon.card_transaction_effects
),
history_ends as (
    -- the snapshot holds what happened up to it: compared only when the card logs and the
    -- transactions were both extracted up to it, as for account_balance
    select
        c.card_id,
        coalesce(l.covered_until >= c.snapshot_at and t.covered_until >= c.snapshot_at, false)
            as covered
    from cards c
    left join recon.coverage l on l.stream = 'card_account_logs'
    left join recon.coverage t on t.stream = 'transactions'
),
computed as (
    select
        c.*,
        coalesce(l.has_opening, false) as has_opening,
        h.covered,
        case
            when coalesce(l.has_opening, false)
                then coalesce(l.to_snapshot, 0) + coalesce(t.to_snapshot, 0)
            when c.snapshots > 1
                then c.first_balance
                     + coalesce(l.to_snapshot, 0) - coalesce(l.to_first_snapshot, 0)
                     + coalesce(t.to_snapshot, 0) - coalesce(t.to_first_snapshot, 0)
        end as expected
    from cards c
    left join log_effects l using (card_id)
    left join txn_effects t using (card_id)
    left join history_ends h using (card_id)
),
final as (
    select
        'card_balance' as check_name,
        case when expected is null then 'info' else 'error' end as severity,
        'card' as entity_type,
        card_id as entity_id,
        card_id,
        currency,
        expected,
        balance as actual,
        balance - expected as difference,
        snapshot_at as as_of,
        case
            when expected is null
                then 'insufficient_history: the card''s ApplyCard log is outside the extracted '
                     || 'history and only one snapshot is stored; the next run can roll it forward'
            when has_opening then 'snapshot ' || balance || ' vs computed ' || expected
                || ' (from the opening top-up)'
            else 'snapshot ' || balance || ' vs computed ' || expected
                || ' (rolled forward from the snapshot of ' || first_snapshot_at || ')'
        end as detail,
        expected is null or abs(balance - expected) > p.tolerance as is_break,
        not covered as out_of_window
    from computed, recon.params p
)
select * from final
