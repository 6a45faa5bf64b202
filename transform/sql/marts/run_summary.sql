-- grain: one row per (section, name, currency) of one run: the run's verdict, per-stream
-- counts, per-check results per currency (with the comparisons blocked by quarantine), and
-- the amount on hold per currency. The verdict counts quarantined_record breaks like any
-- error: a run with an untrusted record is never reconciled. A check's total difference per
-- currency is the sum of its open breaks' amounts at stake (recon.open_breaks).
-- Inputs: recon.params (run_id, as_of), summary_failures (why the run is incomplete),
-- summary_run (label, dialect). Every row says what the run covers: label, dialect, the
-- period reconciled (the extracted history: first day .. last day every stream covers) and
-- when the snapshots were taken.
with params as (
    select * from recon.params
),
period as (
    select
        cast(timezone('UTC', min(covered_from)) as date) as period_from,
        cast(timezone('UTC', min(covered_until)) as date) - 1 as period_to
    from staging.stg_coverage
),
snapshot as (
    select coalesce(
        (select max(fetched_at) from core.account_snapshots
         where run_id = (select run_id from params)),
        (select max(fetched_at) from core.card_snapshots
         where run_id = (select run_id from params))
    ) as snapshot_at
),
open_breaks as (
    select * from recon.open_breaks
),
stream_oow as (
    -- entries out of the extracted window, attributed to the stream they belong to (the
    -- check catalogue's stream)
    select coalesce(k.stream, 'other') as stream, sum(c.out_of_window) as out_of_window
    from recon.check_runs c
    left join recon.checks k on k.name = c."check"
    where c.run_id = (select run_id from params)
    group by 1
),
streams as (
    select
        'stream' as section, r.stream as name, cast(null as varchar) as currency,
        cast(null as varchar) as verdict, r.fetched, r.loaded, r.quarantined,
        coalesce(o.out_of_window, 0) as out_of_window,
        cast(null as bigint) as entities_checked, cast(null as bigint) as errors,
        cast(null as bigint) as warnings, cast(null as bigint) as infos,
        cast(null as decimal(18,2)) as abs_difference,
        cast(null as decimal(18,2)) as amount_on_hold, r.error as note
    from meta.runs r
    left join stream_oow o using (stream)
    where r.run_id = (select run_id from params)
),
check_currencies as (
    select "check", currency,
           count(*) filter (where severity = 'error') as errors,
           count(*) filter (where severity = 'warning') as warnings,
           count(*) filter (where severity = 'info') as infos,
           sum(at_stake) as abs_difference
    from open_breaks
    group by all
),
checks as (
    select
        'check' as section, c."check" as name, b.currency, null as verdict,
        null as fetched, null as loaded, null as quarantined, c.out_of_window,
        c.entities_checked, coalesce(b.errors, 0) as errors, coalesce(b.warnings, 0) as warnings,
        coalesce(b.infos, 0) as infos, coalesce(b.abs_difference, 0) as abs_difference,
        null as amount_on_hold, c.skipped_reason as note,
        c.blocked_by_quarantine
    from recon.check_runs c
    left join check_currencies b using ("check")
    where c.run_id = (select run_id from params)
),
holds as (
    select
        'hold' as section, 'open authorizations' as name, currency, null as verdict,
        null, null, null, null, count(*) as entities_checked, null, null, null, null,
        sum(auth_amount) as amount_on_hold,
        count(*) || ' authorised, unsettled transactions' as note
    from staging.stg_transaction_effects
    where status = 'authorized' and funds_direction = 'Expenditure' and can_hold
    group by currency
),
verdict as (
    select
        'run' as section, (select run_id from params) as name, null as currency,
        case
            when (select count(*) from summary_failures) > 0 then 'incomplete'
            when (select count(*) from open_breaks where severity = 'error') > 0 then 'breaks'
            when (select count(*) from open_breaks where severity = 'warning') > 0
                then 'reconciled_with_warnings'
            else 'reconciled'
        end as verdict,
        (select sum(fetched) from streams), (select sum(loaded) from streams),
        (select sum(quarantined) from streams), (select sum(out_of_window) from streams),
        (select sum(entities_checked) from checks),
        (select count(*) from open_breaks where severity = 'error'),
        (select count(*) from open_breaks where severity = 'warning'),
        (select count(*) from open_breaks where severity = 'info'),
        null, null,
        (select string_agg(reason, '; ') from summary_failures) as note,
        (select sum(blocked_by_quarantine) from recon.check_runs
         where run_id = (select run_id from params)) as blocked_by_quarantine
),
final as (
    select * from verdict
    union all by name select * from streams
    union all by name select * from checks
    union all by name select * from holds
)
select
    (select run_id from params) as run_id, section, name, currency, verdict, fetched, loaded,
    quarantined, out_of_window, entities_checked, errors, warnings, infos, abs_difference,
    amount_on_hold, note, blocked_by_quarantine, (select as_of from params) as generated_at,
    (select label from summary_run) as label, (select dialect from summary_run) as dialect,
    (select period_from from period) as period_from, (select period_to from period) as period_to,
    (select snapshot_at from snapshot) as snapshot_at
from final
