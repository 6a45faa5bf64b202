-- grain: one card. Its latest and earliest snapshot, model and currency.
create or replace view staging.stg_cards as
with ranked as (
    -- a snapshot's time is the service's clock (its reply's Date header), else ours
    select
        *,
        coalesce(service_at, fetched_at) as taken_at,
        row_number() over (partition by card_id order by fetched_at desc) as newest,
        row_number() over (partition by card_id order by fetched_at) as oldest
    from core.card_snapshots
),
final as (
    select
        l.card_id,
        l.card_model,
        l.currency,
        l.status,
        l.taken_at as snapshot_at,
        l.balance,
        l.used_credit_amount,
        l.max_credit_amount,
        l.created_at,
        f.taken_at as first_snapshot_at,
        f.balance as first_balance,
        f.used_credit_amount as first_used_credit_amount,
        (select count(*) from core.card_snapshots s where s.card_id = l.card_id) as snapshots
    from ranked l
    join ranked f on f.card_id = l.card_id and f.oldest = 1
    where l.newest = 1
)
select * from final;
comment on view staging.stg_cards is 'Per card: its latest snapshot (balances now) and its earliest one (to roll forward from when the card opened before the history).';
comment on column staging.stg_cards.card_id is 'cardepass card id.';
comment on column staging.stg_cards.card_model is 'Standard (holds a balance) or ShareBalance (spends the account''s money).';
comment on column staging.stg_cards.currency is 'The card''s currency.';
comment on column staging.stg_cards.status is 'Card status at the latest snapshot.';
comment on column staging.stg_cards.snapshot_at is 'When the latest snapshot was taken (UTC): the service''s clock (the reply''s Date header), else ours.';
comment on column staging.stg_cards.balance is 'Balance at the latest snapshot (Standard cards).';
comment on column staging.stg_cards.used_credit_amount is 'usedCreditAmount at the latest snapshot (ShareBalance, v1.4; null in v2.0).';
comment on column staging.stg_cards.max_credit_amount is 'maxCreditAmount at the latest snapshot (null: unlimited).';
comment on column staging.stg_cards.created_at is 'When the card was created, as the service reports it.';
comment on column staging.stg_cards.first_snapshot_at is 'When the earliest stored snapshot was taken (UTC; the service''s clock, else ours).';
comment on column staging.stg_cards.first_balance is 'Balance at the earliest stored snapshot.';
comment on column staging.stg_cards.first_used_credit_amount is 'usedCreditAmount at the earliest stored snapshot.';
comment on column staging.stg_cards.snapshots is 'How many snapshots of the card are stored.';
