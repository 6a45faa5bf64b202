-- Views for ad hoc SQL. Grain: one open break; one Standard card.
create or replace view recon.open_breaks as
select
    b.*,
    date_diff('day', b.first_seen_at, p.as_of) as age_days,
    case
        when date_diff('day', b.first_seen_at, p.as_of) <= 1 then '0-1 d'
        when date_diff('day', b.first_seen_at, p.as_of) <= 7 then '2-7 d'
        when date_diff('day', b.first_seen_at, p.as_of) <= 30 then '8-30 d'
        else '> 30 d'
    end as age_bucket
from recon.breaks b, recon.params p
where b.status = 'open';
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
