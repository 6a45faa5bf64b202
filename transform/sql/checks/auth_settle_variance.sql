-- grain: one settled transaction.
-- invariant (info): the settled amount is within variance_pct percent of the authorised amount.
with final as (
    select
        'auth_settle_variance' as check_name,
        'info' as severity,
        'transaction' as entity_type,
        t.transaction_id as entity_id,
        t.card_id,
        t.currency,
        t.auth_amount as expected,
        t.settled_amount as actual,
        t.settled_amount - t.auth_amount as difference,
        coalesce(t.settled_at, t.auth_at) as as_of,
        'authorised ' || t.auth_amount || ', settled ' || t.settled_amount as detail,
        -- |settled - auth| > auth * pct / 100, multiplied out so that it stays DECIMAL (a
        -- division of decimals is a DOUBLE in DuckDB); DECIMAL(38, _) leaves room for the product
        cast(abs(t.settled_amount - t.auth_amount) as decimal(38,2)) * 100
            > cast(t.auth_amount as decimal(38,2)) * p.variance_pct as is_break,
        false as out_of_window
    from core.transactions t, recon.params p
    where t.status = 'settled' and not t.is_topup_mirror
)
select * from final
