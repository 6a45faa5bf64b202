-- Views for ad hoc SQL. Grain: one open break; one Standard card.
create or replace view recon.open_breaks as
with aged as (
    -- UTC days, whatever the session time zone
    select
        b.*,
        date_diff('day', timezone('UTC', b.first_seen_at), timezone('UTC', p.as_of)) as age_days
    from recon.breaks b, recon.params p
    where b.status = 'open'
)
select
    *,
    case
        when age_days <= 1 then '0-1 d'
        when age_days <= 7 then '2-7 d'
        when age_days <= 30 then '8-30 d'
        else '> 30 d'
    end as age_bucket
from aged;
comment on view recon.open_breaks is 'Breaks still open after the last reconciliation, with their age (days since first seen) and aging bucket.';

create or replace view core.card_balances as
select
    entity_id as card_id,
    currency,
    actual as reported_balance,
    expected as computed_balance,
    difference,
    as_of as snapshot_at,
    detail
from ({card_balance_sql})
where check_name = 'card_balance';
comment on view core.card_balances is 'Each Standard card: the balance its latest snapshot reports vs the balance computed from its card logs and transactions (null when the history is insufficient).';
