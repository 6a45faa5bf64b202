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
    -- whether any of them ties; and, when none does, the one nearest the snapshot: the
    -- break then shows the smallest difference its second allows
    select
        s.currency,
        bool_or(
            abs(s.available_balance - w.available) <= p.tolerance
            and coalesce(abs(s.frozen_balance - w.blocked) <= p.tolerance, true)
        ) as ties,
        arg_min(w.available, abs(s.available_balance - w.available)) as nearest_available,
        arg_min(w.blocked, abs(coalesce(s.frozen_balance, w.blocked) - w.blocked))
            as nearest_blocked
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
        -- what a break shows: the balances nearest the snapshot that its second allows
        coalesce(r.nearest_available, l.ledger_available) as shown_available,
        coalesce(r.nearest_blocked, l.ledger_blocked) as shown_blocked
    from ledger l
    cross join recon.params p
    left join ties_within_resolution r using (currency)
),
shown as (
    select *, abs(available_balance - shown_available) > tolerance as shown_available_differs
    from compared
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
        case when c.shown_available_differs or c.frozen_balance is null
             then c.shown_available else c.shown_blocked end as expected,
        case when c.shown_available_differs or c.frozen_balance is null
             then c.available_balance else c.frozen_balance end as actual,
        case when c.shown_available_differs or c.frozen_balance is null
             then c.available_balance - c.shown_available
             else c.frozen_balance - c.shown_blocked end as difference,
        c.snapshot_at as as_of,
        case when c.has_entry then '' else 'no ledger entry at or before the snapshot: ' end
            || 'available ' || c.available_balance || ' vs ledger ' || c.shown_available
            || coalesce('; frozen ' || c.frozen_balance || ' vs blocked ' || c.shown_blocked, '')
            || case when c.service_at is not null
                    then ' (nearest balance within the service''s second, '
                         || strftime(timezone('UTC', c.service_at), '%H:%M:%S') || ' UTC)'
                    else '' end
            as detail,
        (c.available_differs
            or coalesce(abs(c.frozen_balance - c.ledger_blocked) > c.tolerance, false))
            and not c.ties_within_second as is_break,
        -- the balance was made outside the extracted ledger: before its coverage (no entry at
        -- or before the snapshot), or after it (the ledger ends before the snapshot: a closed
        -- period reconciled later holds entries never extracted); it cannot tie
        not c.has_entry or coalesce(cv.covered_until < c.snapshot_at, true) as out_of_window
    from shown c
    left join recon.coverage cv on cv.stream = 'account_logs'
)
select * from final
