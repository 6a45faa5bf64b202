-- grain: one order with its funding account entry.
-- invariant: the amount the order moves through the account (per recon.order_amounts: funding
-- principal + fee; withdraw principal; cancel refund; ShareBalance opening fee) = the entry's
-- absolute trans_amount. An order whose amount field is null is not compared.
with funding as (
    select a.order_no, sum(a.trans_amount) as trans_amount, min(a.account_log_id) as entry_id,
           min(a.trans_at) as trans_at, min(a.currency) as currency, min(a.card_id) as card_id
    from core.account_logs a
    join recon.account_log_types t using (trans_type)
    where t.category = 'funding'
    group by a.order_no
),
orders as (
    select
        o.*,
        case r.moved_amount
            when 'principal_plus_fee' then o.principal_amount + o.fee_amount
            when 'principal' then o.principal_amount
            when 'fee' then o.fee_amount
        end as moves
    from core.orders o
    join recon.order_amounts r using (card_model, order_type)
),
final as (
    select
        'order_amount_mismatch' as check_name,
        'error' as severity,
        'order' as entity_type,
        o.order_no as entity_id,
        coalesce(o.card_id, f.card_id) as card_id,
        coalesce(o.currency, f.currency) as currency,
        o.moves as expected,
        abs(f.trans_amount) as actual,
        abs(f.trans_amount) - o.moves as difference,
        f.trans_at as as_of,
        o.card_model || ' ' || o.order_type || ' order moves ' || o.moves
            || '; account entry ' || f.entry_id || ' moved ' || f.trans_amount as detail,
        abs(abs(f.trans_amount) - o.moves) > p.tolerance as is_break,
        false as out_of_window
    from orders o
    join funding f using (order_no)
    cross join recon.params p
    where o.moves is not null
)
select * from final
