-- grain: one quarantined record (entity), whatever how many times it was quarantined.
-- A record is *replaced* when a valid fetch of the same key was loaded at or after its last
-- quarantined fetch (RECONCILIATION.md, "Records that cannot be trusted"); a record with no
-- usable key can never be replaced. What it names (card, currency, the order or transaction
-- it points to, its time) is read from the raw item, as sent, for the checks it blocks.
create or replace view staging.stg_quarantined_records as
with kinds(stream, entity_type) as (
    values ('transactions', 'transaction'), ('card_account_logs', 'card_account_log'),
           ('account_logs', 'account_log'), ('orders', 'order'), ('cards', 'card'),
           ('accounts', 'account')
),
q as (
    select
        q.*,
        k.entity_type,
        coalesce(q.item_key, 'raw:' || left(sha256(cast(q.raw_item as varchar)), 16))
            as entity_id,
        coalesce(q.fetched_at, q.quarantined_at) as fetched
    from core.quarantine q
    join kinds k using (stream)
),
valid as (
    -- the latest valid fetch of each quarantined key (only those: the core tables are large)
    select 'transactions' as stream, transaction_id as item_key, max(fetched_at) as fetched
    from core.transactions
    where transaction_id in (select item_key from q where stream = 'transactions')
    group by all
    union all
    select 'card_account_logs', account_log_id, max(fetched_at) from core.card_account_logs
    where account_log_id in (select item_key from q where stream = 'card_account_logs')
    group by all
    union all
    select 'account_logs', account_log_id, max(fetched_at) from core.account_logs
    where account_log_id in (select item_key from q where stream = 'account_logs')
    group by all
    union all
    select 'orders', order_no, max(fetched_at) from core.orders
    where order_no in (select item_key from q where stream = 'orders')
    group by all
    union all
    select 'cards', card_id, max(fetched_at) from core.card_snapshots
    where card_id in (select item_key from q where stream = 'cards')
    group by all
    union all
    select 'accounts', currency, max(fetched_at) from core.account_snapshots
    where currency in (select item_key from q where stream = 'accounts')
    group by all
),
records as (
    select
        stream,
        entity_type,
        entity_id,
        any_value(item_key) as item_key,
        arg_max(failed_checks, quarantined_at) as failed_checks,
        arg_max(cast(raw_item as varchar), quarantined_at) as raw_item,
        min(quarantined_at) as first_quarantined_at,
        max(fetched) as last_fetched
    from q
    group by stream, entity_type, entity_id
),
final as (
    select
        r.stream,
        r.entity_type,
        r.entity_id,
        coalesce(
            json_extract_string(r.raw_item, '$.cardInfo.cardId'),
            json_extract_string(r.raw_item, '$.cardId')
        ) as card_id,
        coalesce(
            json_extract_string(r.raw_item, '$.currency'),
            json_extract_string(r.raw_item, '$.cardCurrency'),
            json_extract_string(r.raw_item, '$.cardInfo.cardCurrency'),
            json_extract_string(r.raw_item, '$.authAmount.currency'),
            json_extract_string(r.raw_item, '$.transAmount.currency')
        ) as currency,
        -- the order or transaction a ledger entry or card log points to
        case r.stream
            when 'account_logs' then json_extract_string(r.raw_item, '$.orderNo')
            when 'card_account_logs' then json_extract_string(r.raw_item, '$.cardOrderNo')
        end as ref,
        coalesce(
            try_cast(json_extract_string(r.raw_item, '$.authTime') as timestamptz),
            try_cast(json_extract_string(r.raw_item, '$.transactionTime') as timestamptz),
            try_cast(json_extract_string(r.raw_item, '$.transTime') as timestamptz),
            try_cast(json_extract_string(r.raw_item, '$.createdOn') as timestamptz),
            r.first_quarantined_at
        ) as record_at,
        r.failed_checks,
        r.first_quarantined_at,
        coalesce(v.fetched >= r.last_fetched, false) as replaced
    from records r
    left join valid v on v.stream = r.stream and v.item_key = r.item_key
)
select * from final;

comment on view staging.stg_quarantined_records is 'Per quarantined record (entity): what it names, read from the raw item as sent, and whether a later valid fetch of the same key replaced it.';
comment on column staging.stg_quarantined_records.stream is 'Stream or snapshot it came from.';
comment on column staging.stg_quarantined_records.entity_type is 'transaction, card_account_log, account_log, order, card or account.';
comment on column staging.stg_quarantined_records.entity_id is 'Its key as sent, or raw: + the first 16 hex digits of the SHA-256 of its raw JSON when it has none.';
comment on column staging.stg_quarantined_records.card_id is 'The card it names (cardInfo.cardId or cardId), if any.';
comment on column staging.stg_quarantined_records.currency is 'The currency it names, if any.';
comment on column staging.stg_quarantined_records.ref is 'The order or transaction a ledger entry (orderNo) or card log (cardOrderNo) points to.';
comment on column staging.stg_quarantined_records.record_at is 'The time of the money movement as sent (authTime, transactionTime, transTime, createdOn), else when first quarantined.';
comment on column staging.stg_quarantined_records.failed_checks is 'The checks its latest quarantined fetch failed.';
comment on column staging.stg_quarantined_records.first_quarantined_at is 'When it was first quarantined (UTC).';
comment on column staging.stg_quarantined_records.replaced is 'Whether a valid fetch of the same key was loaded at or after its last quarantined fetch.';
