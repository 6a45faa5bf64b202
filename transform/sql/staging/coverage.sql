-- grain: one stream. What the extracted history covers: from the first slice ever fetched
-- to the end of the watermark day (exclusive bound, UTC).
create or replace view recon.coverage as
with slices as (
    select stream, min(slice_from) as covered_from
    from raw.pages
    where slice_from is not null
    group by stream
),
final as (
    select
        s.stream,
        cast(s.covered_from as timestamptz) as covered_from,
        cast(m.watermark + interval 1 day as timestamptz) as covered_until
    from slices s
    join meta.state m using (stream)
)
select * from final;
