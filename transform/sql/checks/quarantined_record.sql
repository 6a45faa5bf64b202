-- grain: one quarantined record (staging.stg_quarantined_records).
-- invariant: a later valid fetch of the same key replaced it. Until then it is money we could
-- not read: an error break, found once (the comparisons that include it are blocked, not
-- reported). It resolves when a fetch of the same key validates.
with final as (
    select
        'quarantined_record' as check_name,
        'error' as severity,
        r.entity_type,
        r.entity_id,
        r.card_id,
        r.currency,
        cast(null as decimal(18,2)) as expected,
        cast(null as decimal(18,2)) as actual,
        cast(null as decimal(18,2)) as difference,
        r.record_at as as_of,
        replace(r.stream, '_', ' ') || ' record cannot be trusted: '
            || regexp_replace(
                r.failed_checks,
                'isin\((\[[^\]]*\])\) got (''[^'']*'')',
                'unknown value \2 (expected one of \1)',
                'g'
            ) as detail,
        not r.replaced as is_break,
        false as out_of_window
    from staging.stg_quarantined_records r
)
select * from final
