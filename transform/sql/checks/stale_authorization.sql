-- grain: one authorized (open) transaction.
-- invariant (warning): still authorized less than stale_days after its authorisation.
with final as (
    select
        'stale_authorization' as check_name,
        'warning' as severity,
        'transaction' as entity_type,
        t.transaction_id as entity_id,
        t.card_id,
        t.currency,
        cast(null as decimal(18,2)) as expected,
        t.auth_amount as actual,
        cast(null as decimal(18,2)) as difference,
        t.auth_at as as_of,
        'authorised ' || t.auth_amount || ' on ' || strftime(t.auth_at, '%Y-%m-%d')
            || ', still open after ' || date_diff('day', t.auth_at, p.as_of) || ' days' as detail,
        t.auth_at < p.as_of - to_days(p.stale_days) as is_break,
        false as out_of_window
    from core.transactions t, recon.params p
    where t.status = 'authorized' and not t.is_topup_mirror
)
select * from final
