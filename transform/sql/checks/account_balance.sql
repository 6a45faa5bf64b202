-- grain: one account currency with a snapshot.
-- invariant: the latest /v1/accounts available (and frozen, where given) equals the balances
-- after the last account log entry at or before the snapshot.
with snap as (
    select *, row_number() over (partition by currency order by fetched_at desc) as newest
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
    join core.account_logs a on a.currency = s.currency and a.trans_at <= s.fetched_at
    group by s.currency
),
final as (
    select
        'account_balance' as check_name,
        'error' as severity,
        'account' as entity_type,
        s.currency as entity_id,
        null as card_id,
        s.currency,
        -- the balance that does not tie: available, else frozen vs blocked
        case when abs(s.available_balance - e.available) > p.tolerance or s.frozen_balance is null
             then e.available else e.blocked end as expected,
        case when abs(s.available_balance - e.available) > p.tolerance or s.frozen_balance is null
             then s.available_balance else s.frozen_balance end as actual,
        case when abs(s.available_balance - e.available) > p.tolerance or s.frozen_balance is null
             then s.available_balance - e.available
             else s.frozen_balance - e.blocked end as difference,
        s.fetched_at as as_of,
        'available ' || s.available_balance || ' vs ledger ' || e.available
            || coalesce('; frozen ' || s.frozen_balance || ' vs blocked ' || e.blocked, '')
            as detail,
        abs(s.available_balance - e.available) > p.tolerance
            or coalesce(abs(s.frozen_balance - e.blocked) > p.tolerance, false) as is_break,
        -- the ledger was extracted only up to a day before the snapshot: it cannot tie
        coalesce(cv.covered_until < s.fetched_at - interval 1 day, true) as out_of_window
    from latest s
    join last_entry e using (currency)
    left join recon.coverage cv on cv.stream = 'account_logs'
    cross join recon.params p
)
select * from final
