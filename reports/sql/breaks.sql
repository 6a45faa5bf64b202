-- grain: one row per break ever found (open and resolved), as exported, aged at the run's
-- generated_at ($generated_at): age_days from as_of (when the money moved), days_open from
-- first_seen_at, the bucket from the age (recon.age_days / recon.age_bucket: one definition).
-- Order: open first, errors before warnings before infos, then check, then the amount at stake
-- (|difference|, or the one side that exists); a break explained by another (root_id) follows
-- its root.
with breaks as (
    select *, coalesce(root_id, break_id) as root from recon.breaks
),
aged as (
    select
        *,
        recon.age_days(coalesce(as_of, first_seen_at), $generated_at::timestamptz) as age_days,
        recon.age_days(first_seen_at, $generated_at::timestamptz) as days_open
    from breaks
),
sort_keys as (
    select
        break_id,
        status = 'open' as is_open,
        case severity when 'error' then 0 when 'warning' then 1 when 'info' then 2 else 3 end
            as severity_rank,
        "check",
        abs(coalesce(difference, expected, actual)) as stake
    from breaks
),
final as (
    select
        b.break_id, b."check", b.severity, b.entity_type, b.entity_id, b.card_id, b.currency,
        b.expected, b.actual, b.difference, b.as_of, b.detail, b.first_seen_at, b.last_seen_at,
        b.status, b.root as root_id,
        cast(b.age_days as integer) as age_days,
        cast(b.days_open as integer) as days_open,
        recon.age_bucket(b.age_days) as age_bucket
    from aged b
    join sort_keys s on s.break_id = b.break_id
    left join sort_keys r on r.break_id = b.root  -- a root is itself a break (kept forever)
    order by
        -- open first; then the root's place, and the root itself before what it explains
        s.is_open desc, coalesce(r.severity_rank, s.severity_rank),
        coalesce(r."check", s."check"), coalesce(r.stake, s.stake) desc nulls last,
        coalesce(r.break_id, s.break_id),
        b.break_id <> b.root, s.severity_rank, s."check", b.break_id
)
select * from final
