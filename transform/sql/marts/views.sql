-- Views for ad hoc SQL. Grain: one open break; one Standard card.
create or replace view recon.open_breaks as
with aged as (
    select
        b.*,
        recon.age_days(coalesce(b.as_of, b.first_seen_at), p.as_of) as age_days,
        recon.age_days(b.first_seen_at, p.as_of) as days_open
    from recon.breaks b, recon.params p
    where b.status = 'open'
)
select *, recon.age_bucket(age_days) as age_bucket
from aged;
comment on view recon.open_breaks is 'Breaks still open after the last reconciliation (infos included: filter severity), with their age (days since the money moved, as_of), days open (since first seen) and aging bucket. Its other columns are those of recon.breaks.';
comment on column recon.open_breaks.age_days is 'Whole days (UTC) from as_of, when the money moved, to the last reconciliation.';
comment on column recon.open_breaks.days_open is 'Whole days (UTC) from first_seen_at to the last reconciliation.';
comment on column recon.open_breaks.age_bucket is 'The bucket of age_days: 0-1 d, 2-7 d, 8-30 d or > 30 d.';

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
comment on column core.card_balances.card_id is 'The Standard card.';
comment on column core.card_balances.currency is 'The card''s currency.';
comment on column core.card_balances.reported_balance is 'The balance its latest snapshot reports.';
comment on column core.card_balances.computed_balance is 'Opening + card-log effects + transaction effects up to the snapshot (null: insufficient history).';
comment on column core.card_balances.difference is 'reported_balance - computed_balance.';
comment on column core.card_balances.snapshot_at is 'When the snapshot was taken (UTC).';
comment on column core.card_balances.detail is 'How the balance was computed, or why it could not be.';
