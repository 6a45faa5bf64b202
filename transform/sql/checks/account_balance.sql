-- grain: one account currency with a snapshot.
-- invariant: the latest /v1/accounts available (and frozen, where given) equals the balances
-- after the last account log entry at or before the snapshot. A currency with no entry at or
-- before its snapshot is compared with an empty ledger (0.00 available, 0.00 blocked).
-- The snapshot's time is the service's own (its reply's Date header), not our clock: a clock
-- that runs apart from ours would otherwise put entries posted just after the snapshot before
-- it. The header is to the second, so on a busy account the snapshot also ties when it equals
-- the balances after any entry within that resolution (+-1 s), or those just before them.
with snap as (
    select
        *,
        coalesce(service_at, fetched_at) as snapshot_at,
        row_number() over (partition by currency order by fetched_at desc) as newest
    from core.account_snapshots
),
latest as (
    select * from snap where newest = 1
),
last_entry as (
    select
        s.currency,
        arg_max(a.available_balance, (a.trans_at, a.account_log_id)) as available,
        arg_max(a.blocked_balance, (a.trans_at, a.account_log_id)) as blocked,
        max(a.trans_at) as last_at
    from latest s
    join core.account_logs a on a.currency = s.currency and a.trans_at <= s.snapshot_at
    group by s.currency
),
-- on the service's clock: the balances the snapshot may show within the stamp's resolution
within_resolution as (
    select s.currency, a.available_balance as available, a.blocked_balance as blocked
    from latest s
    join core.account_logs a
      on a.currency = s.currency
     and a.trans_at > s.snapshot_at - interval 1 second
     and a.trans_at <= s.snapshot_at + interval 1 second
    where s.service_at is not null
    union all
    select
        s.currency,
        arg_max(a.available_balance, (a.trans_at, a.account_log_id)),
        arg_max(a.blocked_balance, (a.trans_at, a.account_log_id))
    from latest s
    join core.account_logs a
      on a.currency = s.currency and a.trans_at <= s.snapshot_at - interval 1 second
    where s.service_at is not null
    group by s.currency
),
ties_within_resolution as (
    -- whether any of them ties; and the range they span, for the detail of a break
    select
        s.currency,
        bool_or(
            abs(s.available_balance - w.available) <= p.tolerance
            and coalesce(abs(s.frozen_balance - w.blocked) <= p.tolerance, true)
        ) as ties,
        min(w.available) as lowest_available,
        max(w.available) as highest_available
    from latest s
    join within_resolution w using (currency)
    cross join recon.params p
    group by s.currency
),
ledger as (
    select
        s.*,
        e.last_at is not null as has_entry,
        coalesce(e.available, cast(0 as decimal(18,2))) as ledger_available,
        coalesce(e.blocked, cast(0 as decimal(18,2))) as ledger_blocked
    from latest s
    left join last_entry e using (currency)
),
compared as (
    select
        l.*,
        abs(l.available_balance - l.ledger_available) > p.tolerance as available_differs,
        p.tolerance,
        coalesce(r.ties, false) as ties_within_second,
        r.lowest_available,
        r.highest_available
    from ledger l
    cross join recon.params p
    left join ties_within_resolution r using (currency)
),

final as (
    select
        'account_balance' as check_name,
        'error' as severity,
        'account' as entity_type,
        c.currency as entity_id,
        null as card_id,
        c.currency,
        -- the balance that does not tie: available, else frozen vs blocked
        -- (on the service's clock: the balances after the last entry at or before its stamp)
        case when c.available_differs or c.frozen_balance is null
             then c.ledger_available else c.ledger_blocked end as expected,
        case when c.available_differs or c.frozen_balance is null
             then c.available_balance else c.frozen_balance end as actual,
        case when c.available_differs or c.frozen_balance is null
             then c.available_balance - c.ledger_available
             else c.frozen_balance - c.ledger_blocked end as difference,
        c.snapshot_at as as_of,
        case when c.has_entry then '' else 'no ledger entry at or before the snapshot: ' end
            || 'available ' || c.available_balance || ' vs ledger ' || c.ledger_available
            || coalesce('; frozen ' || c.frozen_balance || ' vs blocked ' || c.ledger_blocked, '')
            || case when c.lowest_available < c.highest_available
                    then ' at the service''s '
                         || strftime(timezone('UTC', c.service_at), '%H:%M:%S')
                         || ' UTC (to the second: within +-1 s the ledger''s available ranged '
                         || c.lowest_available || '..' || c.highest_available || ')'
                    else '' end
            as detail,
        (c.available_differs
            or coalesce(abs(c.frozen_balance - c.ledger_blocked) > c.tolerance, false))
            and not c.ties_within_second as is_break,
        -- the balance was made outside the extracted ledger: before its coverage (no entry at
        -- or before the snapshot), or after it (the ledger ends before the snapshot: a closed
        -- period reconciled later holds entries never extracted); it cannot tie
        not c.has_entry or coalesce(cv.covered_until < c.snapshot_at, true) as out_of_window
    from compared c
    left join staging.stg_coverage cv on cv.stream = 'account_logs'
)
select * from final
