-- grain: one stream. What the extracted history covers: from the first slice ever fetched
-- to the end of the watermark day (exclusive bound, UTC).
create or replace view staging.stg_coverage as
with slices as (
    select stream, min(slice_from) as covered_from
    from raw.pages
    where slice_from is not null
    group by stream
),
final as (
    select
        s.stream,
        -- dates are UTC days: read them as UTC whatever the session's time zone
        timezone('UTC', cast(s.covered_from as timestamp)) as covered_from,
        timezone('UTC', cast(m.watermark as timestamp) + interval 1 day) as covered_until
    from slices s
    join meta.state m using (stream)
)
select * from final;
comment on view staging.stg_coverage is 'Per stream, what the extracted history covers (UTC): from the first slice ever fetched to the end of the watermark day. A comparison whose other side may lie outside it is out of window, not a break.';
comment on column staging.stg_coverage.stream is 'transactions, card_account_logs or account_logs.';
comment on column staging.stg_coverage.covered_from is 'Start of the first day ever extracted (inclusive).';
comment on column staging.stg_coverage.covered_until is 'End of the watermark day (exclusive): everything before it is extracted.';
