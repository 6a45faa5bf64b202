-- grain: one funding account log of a Standard card.
-- invariant: a card log with its order number exists (the card side of the funding).
with funding as (
    select a.*
    from core.account_logs a
    join recon.account_log_types t using (trans_type)
    join staging.stg_cards c using (card_id)
    where t.category = 'funding' and c.card_model = 'Standard'
),
logs as (
    select distinct order_no from core.card_account_logs
),
final as (
    select
        'missing_card_entry' as check_name,
        'error' as severity,
        'order' as entity_type,
        f.order_no as entity_id,
        f.card_id,
        f.currency,
        cast(null as decimal(18,2)) as expected,
        f.trans_amount as actual,
        cast(null as decimal(18,2)) as difference,
        f.trans_at as as_of,
        f.trans_type || ' account entry ' || f.account_log_id || ' moved ' || f.trans_amount
            || ' for order ' || f.order_no || ', which has no card log' as detail,
        l.order_no is null as is_break,
        -- a card log is written when the order is placed, up to a day before its entry
        -- (a UTC day, whatever the session time zone)
        coalesce(timezone('UTC', f.trans_at) < timezone('UTC', cv.covered_from) + interval 1 day
                 or f.trans_at >= cv.covered_until, true) as out_of_window
    from funding f
    left join logs l using (order_no)
    left join staging.stg_coverage cv on cv.stream = 'card_account_logs'
)
select * from final
