-- grain: one transaction. Its effect on its card now (RECONCILIATION.md's effect(t), read
-- from the money model table), and its effect at the card's latest and first snapshots.
create or replace view staging.stg_transaction_effects as
with txns as (
    -- a type the money model does not list moves money (validation admits only known types)
    select
        t.*, c.card_model, c.first_snapshot_at, c.snapshot_at,
        coalesce(ty.moves_money, true) as moves_money,
        coalesce(ty.can_hold, true) as can_hold
    from core.transactions t
    left join staging.stg_cards c using (card_id)
    left join recon.transaction_types ty using (transaction_type)
    where not t.is_topup_mirror
),
final as (
    select
        t.transaction_id,
        t.transaction_type,
        t.moves_money,
        t.can_hold,
        t.card_id,
        t.card_model,
        t.currency,
        t.status,
        t.funds_direction,
        t.auth_at,
        t.settled_at,
        t.auth_amount,
        t.settled_amount,
        -- a type that moves no money (AuthQuery) has no effect, whatever its amount or status
        case when not t.moves_money then 0
             else e.sign * case e.amount when 'settled_amount' then t.settled_amount
                                         else t.auth_amount end
        end as effect,
        -- at a snapshot: not yet authorised -> 0; settled by then -> settled effect;
        -- otherwise an open hold (v2.0 has no settle time: money back is taken as settled
        -- when authorised, spending has one amount either way)
        case
            when not t.moves_money then 0
            when t.snapshot_at is null or t.auth_at > t.snapshot_at then 0
            when t.status = 'failed' then 0
            when t.status = 'settled'
                 and coalesce(t.settled_at, t.auth_at) <= t.snapshot_at
                then e.sign * t.settled_amount
            when t.funds_direction = 'Expenditure' then -t.auth_amount
            else 0
        end as effect_at_snapshot,
        case
            when not t.moves_money then 0
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

comment on view staging.stg_transaction_effects is 'Per transaction (v2.0 TopUp mirrors excluded): its effect on its card (RECONCILIATION.md effect(t), from recon.transaction_effects_model), now and at the card''s latest and earliest snapshots.';
comment on column staging.stg_transaction_effects.transaction_id is 'cardepass transaction id.';
comment on column staging.stg_transaction_effects.transaction_type is 'Canonical transaction type (Consume, ConsumeRefund, ..., AuthQuery, TransFee).';
comment on column staging.stg_transaction_effects.moves_money is 'Whether the type moves money (recon.transaction_types; false for AuthQuery).';
comment on column staging.stg_transaction_effects.can_hold is 'Whether an authorised record of the type holds money (recon.transaction_types; false for AuthQuery).';
comment on column staging.stg_transaction_effects.card_id is 'The card.';
comment on column staging.stg_transaction_effects.card_model is 'The card''s model (from its snapshot).';
comment on column staging.stg_transaction_effects.currency is 'Currency of the amounts.';
comment on column staging.stg_transaction_effects.status is 'authorized, settled or failed.';
comment on column staging.stg_transaction_effects.funds_direction is 'Expenditure or Income.';
comment on column staging.stg_transaction_effects.auth_at is 'When it was authorised (UTC).';
comment on column staging.stg_transaction_effects.settled_at is 'When it settled (UTC; null in v2.0, which gives no settle time).';
comment on column staging.stg_transaction_effects.auth_amount is 'Authorised amount.';
comment on column staging.stg_transaction_effects.settled_amount is 'Settled amount (null until settled).';
comment on column staging.stg_transaction_effects.effect is 'Signed effect on the card''s balance (Standard) or credit (ShareBalance) now.';
comment on column staging.stg_transaction_effects.effect_at_snapshot is 'Its effect as of the card''s latest snapshot.';
comment on column staging.stg_transaction_effects.effect_at_first_snapshot is 'Its effect as of the card''s earliest snapshot.';
