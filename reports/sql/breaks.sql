-- grain: one row per break ever found (open and resolved), as exported, aged at the
-- run's generated_at ($generated_at). Order: open first, errors before warnings before
-- infos, then check, then the amount at stake (|difference|, or the one side that exists).
with breaks as (
    select * from recon.breaks
),
aged as (
    select
        *,
        greatest(date_diff('second', first_seen_at, $generated_at::timestamptz), 0)
            // 86400 as age_days
    from breaks
),
final as (
    select
        break_id, "check", severity, entity_type, entity_id, card_id, currency,
        expected, actual, difference, as_of, detail, first_seen_at, last_seen_at, status,
        cast(age_days as integer) as age_days,
        case
            when age_days <= 1 then '0-1 d'
            when age_days <= 7 then '2-7 d'
            when age_days <= 30 then '8-30 d'
            else '> 30 d'
        end as age_bucket
    from aged
    order by
        status = 'open' desc,
        case severity when 'error' then 0 when 'warning' then 1 when 'info' then 2 else 3 end,
        "check",
        abs(coalesce(difference, expected, actual)) desc nulls last,
        break_id
)
select * from final
