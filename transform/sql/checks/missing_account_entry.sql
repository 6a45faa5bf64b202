-- grain: one Completed card log.
-- invariant: an account log with its order number exists (the account side of the funding).
with logs as (
    select
        l.*,
        m.account_sign * case m.account_amount when 'total_amount' then l.total_amount
                                               else l.trans_amount end as account_moves
    from core.card_account_logs l
    join recon.card_log_effects m using (log_type, funds_direction)
    where l.status = 'Completed'
),
funding as (
    select distinct a.order_no
    from core.account_logs a
    join recon.account_log_types t using (trans_type)
    where t.category = 'funding'
),
final as (
    select
        'missing_account_entry' as check_name,
        'error' as severity,
        'order' as entity_type,
        l.order_no as entity_id,
        l.card_id,
        l.currency,
        l.account_moves as expected,
        cast(null as decimal(18,2)) as actual,
        cast(null as decimal(18,2)) as difference,
        l.completed_at as as_of,
        l.log_type || ' card log ' || l.account_log_id || ' completed at ' || l.completed_at
            || ' has no account entry for order ' || l.order_no as detail,
        f.order_no is null as is_break,
        -- the entry is posted at completion: outside the extracted ledger, it cannot be seen
        coalesce(l.completed_at < cv.covered_from or l.completed_at >= cv.covered_until, true)
            as out_of_window
    from logs l
    left join funding f using (order_no)
    left join staging.stg_coverage cv on cv.stream = 'account_logs'
)
select * from final
