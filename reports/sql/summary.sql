-- grain: the run's recon.run_summary rows ($run_id): the run row, then streams, checks
-- and holds.
with summary as (
    select * from recon.run_summary where run_id = $run_id
),
final as (
    select * from summary
    order by
        case section when 'run' then 0 when 'stream' then 1 when 'check' then 2
                     when 'hold' then 3 else 4 end,
        name, currency nulls first
)
select * from final
