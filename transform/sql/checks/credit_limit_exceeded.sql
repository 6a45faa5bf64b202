-- grain: one ShareBalance card that reports usedCreditAmount (a card whose limit was lifted,
-- maxCreditAmount null, is compared too: it ties).
-- invariant (warning): usedCreditAmount <= maxCreditAmount.
with final as (
    select
        'credit_limit_exceeded' as check_name,
        'warning' as severity,
        'card' as entity_type,
        card_id as entity_id,
        card_id,
        currency,
        max_credit_amount as expected,
        used_credit_amount as actual,
        used_credit_amount - max_credit_amount as difference,
        snapshot_at as as_of,
        'used ' || used_credit_amount || ' of a ' || max_credit_amount || ' limit' as detail,
        coalesce(used_credit_amount > max_credit_amount, false) as is_break,
        false as out_of_window
    from staging.stg_cards
    where card_model = 'ShareBalance'
      and used_credit_amount is not null
)
select * from final
