-- grain: one row per break ever found (open and resolved), as exported, with its ages, aging
-- bucket and amount at stake as recon.aged_breaks defines them (once, at the reconciliation's
-- as_of: a report written later shows the same ages as recon.open_breaks).
-- Order: open first, errors before warnings before infos, then check, then the amount at stake;
-- a break explained by another (root_id) follows its root.
with breaks as (
    select * from recon.aged_breaks
),
sort_keys as (
    select
        break_id,
        status = 'open' as is_open,
        case severity when 'error' then 0 when 'warning' then 1 when 'info' then 2 else 3 end
            as severity_rank,
        "check",
        at_stake
    from breaks
),
final as (
    select
        b.break_id, b."check", b.severity, b.entity_type, b.entity_id, b.card_id, b.currency,
        b.expected, b.actual, b.difference, b.as_of, b.detail, b.first_seen_at, b.last_seen_at,
        b.status, b.root_id, b.age_days, b.days_open, b.age_bucket, b.at_stake
    from breaks b
    join sort_keys s on s.break_id = b.break_id
    left join sort_keys r on r.break_id = b.root_id  -- a root is itself a break (kept forever)
    order by
        -- open first; then the root's place, and the root itself before what it explains
        s.is_open desc, coalesce(r.severity_rank, s.severity_rank),
        coalesce(r."check", s."check"), coalesce(r.at_stake, s.at_stake) desc nulls last,
        coalesce(r.break_id, s.break_id),
        b.break_id <> b.root_id, s.severity_rank, s."check", b.break_id
)
select * from final
