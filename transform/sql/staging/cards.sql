-- grain: one card. Its latest and earliest snapshot, model and currency.
create or replace view recon.cards as
with ranked as (
    select
        *,
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
        l.fetched_at as snapshot_at,
        l.balance,
        l.used_credit_amount,
        l.max_credit_amount,
        l.created_at,
        f.fetched_at as first_snapshot_at,
        f.balance as first_balance,
        f.used_credit_amount as first_used_credit_amount,
        (select count(*) from core.card_snapshots s where s.card_id = l.card_id) as snapshots
    from ranked l
    join ranked f on f.card_id = l.card_id and f.oldest = 1
    where l.newest = 1
)
select * from final;
