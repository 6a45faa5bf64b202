-- grain: one break ever found (open and resolved). The one definition of a break's ages, its
-- aging bucket and its amount at stake, read by recon.open_breaks, the run summary and every
-- report. One clock: the reconciliation's as_of (recon.params), the time the data describes,
-- never the time a report is written. age_days counts from as_of (when the money moved),
-- days_open from first_seen_at: whole elapsed UTC days of 24 hours (recon.age_days), bucketed
-- by recon.age_bucket. The amount at stake is |difference|, or |the one side that exists| when
-- a side is missing (a missing_* break has no difference).
create or replace view recon.aged_breaks as
with breaks as (
    select * from recon.breaks
),
params as (
    select as_of from recon.params
),
aged as (
    select
        b.* replace (coalesce(b.root_id, b.break_id) as root_id),
        cast(recon.age_days(coalesce(b.as_of, b.first_seen_at), p.as_of) as integer) as age_days,
        cast(recon.age_days(b.first_seen_at, p.as_of) as integer) as days_open
    from breaks b, params p
),
final as (
    select
        *,
        recon.age_bucket(age_days) as age_bucket,
        abs(coalesce(difference, expected, actual)) as at_stake
    from aged
)
select * from final;
comment on view recon.aged_breaks is 'Every break (open and resolved) with its age, days open, aging bucket and amount at stake, at the last reconciliation (recon.params.as_of): the one definition the reports, the summary and recon.open_breaks read. Its other columns are those of recon.breaks.';
comment on column recon.aged_breaks.root_id is 'The break that explains this one (itself when nothing does): breaks of one money movement share a root, and the amount at stake counts each root once.';
comment on column recon.aged_breaks.age_days is 'Whole days (UTC, of 24 hours) from as_of, when the money moved, to the last reconciliation.';
comment on column recon.aged_breaks.days_open is 'Whole days (UTC, of 24 hours) from first_seen_at to the last reconciliation.';
comment on column recon.aged_breaks.age_bucket is 'The bucket of age_days: 0-1 d, 2-7 d, 8-30 d or > 30 d.';
comment on column recon.aged_breaks.at_stake is 'The amount at stake: |difference|, or |the side that exists| when one is missing (null when the break has no amount).';
