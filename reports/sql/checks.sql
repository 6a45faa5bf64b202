-- grain: one row per check of the run ($run_id): what it compared, its open breaks by
-- severity (summed over currencies), or why it was skipped. Errors-first, then by name.
with check_runs as (
    select * from recon.check_runs where run_id = $run_id
),
summary as (
    select * from recon.run_summary where run_id = $run_id and section = 'check'
),
per_check as (
    select
        name as "check",
        sum(errors) as errors,
        sum(warnings) as warnings,
        sum(infos) as infos,
        list(struct_pack(currency := currency, abs_difference := abs_difference)
             order by currency)
            filter (where currency is not null and abs_difference <> 0) as differences
    from summary
    group by name
),
final as (
    select
        c."check", c.severity, c.entities_checked, c.out_of_window, c.skipped_reason,
        coalesce(c.blocked_by_quarantine, 0) as blocked_by_quarantine,
        coalesce(p.errors, 0) as errors, coalesce(p.warnings, 0) as warnings,
        coalesce(p.infos, 0) as infos, coalesce(p.differences, []) as differences
    from check_runs c
    left join per_check p using ("check")
    order by
        case c.severity when 'error' then 0 when 'warning' then 1 when 'info' then 2 else 3 end,
        c."check"
)
select * from final
