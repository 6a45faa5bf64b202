-- grain: one order with a Completed card log (Pending and Failure logs charge nothing).
-- invariant: each card log's totalFee = the sum of its feeItems, and the order's fee (where the
-- order type carries one) = the totalFee its card logs charged together. One break per order,
-- naming what differs.
with items as (
    select account_log_id, sum(amount) as item_sum, count(*) as item_count
    from core.card_fee_items
    group by account_log_id
),
logs as (
    select l.*, coalesce(i.item_sum, 0) as item_sum
    from core.card_account_logs l
    left join items i using (account_log_id)
    where l.status = 'Completed'
),
per_order as (
    select
        l.order_no,
        min(l.card_id) as card_id,
        min(l.currency) as currency,
        sum(l.total_fee) as total_fee,
        sum(l.item_sum) as item_sum,
        -- compared log by log: two logs cannot make up for each other
        bool_or(abs(l.total_fee - l.item_sum) > p.tolerance) as items_differ,
        count(*) as card_logs,
        max(coalesce(l.completed_at, l.trans_at)) as as_of
    from logs l, recon.params p
    group by l.order_no
),
compared as (
    select
        c.*,
        o.fee_amount as order_fee,
        coalesce(r.fee_compared_with_card_log, true) and o.fee_amount is not null as has_order_fee
    from per_order c
    left join core.orders o using (order_no)
    left join recon.order_amounts r on r.card_model = o.card_model and r.order_type = o.order_type
),
final as (
    select
        'fee_mismatch' as check_name,
        'error' as severity,
        'order' as entity_type,
        c.order_no as entity_id,
        c.card_id,
        c.currency,
        case when c.items_differ then c.item_sum else c.order_fee end as expected,
        c.total_fee as actual,
        c.total_fee - case when c.items_differ then c.item_sum else c.order_fee end as difference,
        c.as_of,
        concat_ws('; ',
            case when c.items_differ
                 then 'card log totalFee ' || c.total_fee || ' but feeItems sum to ' || c.item_sum
            end,
            case when c.has_order_fee and abs(c.order_fee - c.total_fee) > p.tolerance
                 then 'order fee ' || c.order_fee || ' but card log totalFee ' || c.total_fee
            end,
            case when c.card_logs > 1 then c.card_logs || ' Completed card logs' end) as detail,
        c.items_differ
            or (c.has_order_fee and abs(c.order_fee - c.total_fee) > p.tolerance) as is_break,
        false as out_of_window
    from compared c, recon.params p
)
select * from final
