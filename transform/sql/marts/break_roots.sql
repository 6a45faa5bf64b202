-- grain: one break this run found (temp table found). Its root: the break that explains it
-- (itself when nothing does). Breaks of one money movement share a root:
--   * the same entity: an order whose fee and amount both differ (fee_mismatch and
--     order_amount_mismatch) is one movement; the check of the lowest root_rank in the check
--     catalogue (recon.checks: the missing side first, then the amounts that differ) is the
--     root;
--   * a ledger chain that jumps by exactly the amount of a missing entry whose movement falls
--     between the entry before the jump and the one that jumps (a dropped funding entry shows
--     as missing_account_entry and as account_ledger_chain: one movement, one root).
with ranked as (
    select name as check_name, root_rank as rank from recon.checks where root_rank is not null
),
breaks as (
    select f.*, coalesce(r.rank, 99) as rank
    from found f
    left join ranked r using (check_name)
),
same_entity as (
    select
        break_id,
        first_value(break_id) over (
            partition by entity_type, entity_id, currency order by rank, check_name, break_id
        ) as entity_root
    from breaks
),
chain as (
    select * from breaks where check_name = 'account_ledger_chain'
),
ledger as (
    -- the entry that jumps, and when the entry before it was posted
    select
        account_log_id,
        trans_at,
        lag(trans_at) over (partition by currency order by trans_at, account_log_id) as prev_at
    from core.account_logs
    where currency in (select currency from chain)
),
missing as (
    select * from breaks where check_name in ('missing_account_entry', 'txn_missing_ledger')
),
explained as (
    -- the missing movement whose amount is the jump, posted in the gap (the latest, if several)
    select c.break_id, m.break_id as explained_by
    from chain c
    join ledger e on e.account_log_id = c.entity_id
    join missing m
      on m.currency = c.currency
     and m.expected = c.difference
     and m.as_of <= e.trans_at
     -- a funding entry is posted when its card log completes (as_of); a settlement after its
     -- authorisation, at a time v2.0 does not give: only "before the jump" is known
     and (m.check_name = 'txn_missing_ledger' or e.prev_at is null or m.as_of >= e.prev_at)
    qualify row_number() over (partition by c.break_id order by m.as_of desc, m.break_id) = 1
),
final as (
    select
        b.break_id,
        coalesce(root_of_explainer.entity_root, s.entity_root) as root_id
    from breaks b
    join same_entity s using (break_id)
    left join explained x using (break_id)
    left join same_entity root_of_explainer on root_of_explainer.break_id = x.explained_by
)
select * from final
