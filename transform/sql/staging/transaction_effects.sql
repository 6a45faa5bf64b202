-- grain: one transaction. Its effect on its card now (RECONCILIATION.md's effect(t), read
-- from the money model table), and its effect at the card's latest and first snapshots.
create or replace view recon.transaction_effects as
with txns as (
    select t.*, c.card_model, c.first_snapshot_at, c.snapshot_at
    from core.transactions t
    left join recon.cards c using (card_id)
    where not t.is_topup_mirror
),
final as (
    select
        t.transaction_id,
        t.card_id,
        t.card_model,
        t.currency,
        t.status,
        t.funds_direction,
        t.auth_at,
        t.settled_at,
        t.auth_amount,
        t.settled_amount,
        e.sign * case e.amount when 'settled_amount' then t.settled_amount
                               else t.auth_amount end as effect,
        -- at a snapshot: not yet authorised -> 0; settled by then -> settled effect;
        -- otherwise an open hold (v2.0 has no settle time: money back is taken as settled
        -- when authorised, spending has one amount either way)
        case
            when t.snapshot_at is null or t.auth_at > t.snapshot_at then 0
            when t.status = 'failed' then 0
            when t.status = 'settled'
                 and coalesce(t.settled_at, t.auth_at) <= t.snapshot_at
                then e.sign * t.settled_amount
            when t.funds_direction = 'Expenditure' then -t.auth_amount
            else 0
        end as effect_at_snapshot,
        case
            when t.first_snapshot_at is null or t.auth_at > t.first_snapshot_at then 0
            when t.status = 'failed' then 0
            when t.status = 'settled'
                 and coalesce(t.settled_at, t.auth_at) <= t.first_snapshot_at
                then e.sign * t.settled_amount
            when t.funds_direction = 'Expenditure' then -t.auth_amount
            else 0
        end as effect_at_first_snapshot
    from txns t
    join recon.transaction_effects_model e
      on e.status = t.status and e.funds_direction = t.funds_direction
)
select * from final;

-- grain: one card. The sum of its transactions' effects at its latest and first snapshots.
create or replace view recon.card_transaction_effects as
select
    card_id,
    sum(effect_at_snapshot) as to_snapshot,
    sum(effect_at_first_snapshot) as to_first_snapshot
from recon.transaction_effects
group by card_id;
