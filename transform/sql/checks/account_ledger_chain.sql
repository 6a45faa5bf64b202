-- grain: one account log entry after the first of its currency.
-- invariant: prev.available + trans_amount = available, and prev.blocked - trans_amount = blocked
-- for holds and releases (else blocked unchanged), in (trans_at, id) order per currency.
with logs as (
    select a.*, coalesce(t.moves_blocked, false) as moves_blocked
    from core.account_logs a
    left join recon.account_log_types t using (trans_type)
),
ordered as (
    select
        *,
        lag(account_log_id) over w as prev_id,
        lag(available_balance) over w as prev_available,
        lag(blocked_balance) over w as prev_blocked
    from logs
    window w as (partition by currency order by trans_at, account_log_id)
),
compared as (
    select
        *,
        prev_available + trans_amount as expected_available,
        prev_blocked - case when moves_blocked then trans_amount else 0 end as expected_blocked
    from ordered
    where prev_id is not null
),
final as (
    select
        'account_ledger_chain' as check_name,
        'error' as severity,
        'account_log' as entity_type,
        c.account_log_id as entity_id,
        c.card_id,
        c.currency,
        -- the balance that does not chain: available, else blocked
        case when abs(c.available_balance - c.expected_available) > p.tolerance then c.expected_available
             else c.expected_blocked end as expected,
        case when abs(c.available_balance - c.expected_available) > p.tolerance then c.available_balance
             else c.blocked_balance end as actual,
        case when abs(c.available_balance - c.expected_available) > p.tolerance
             then c.available_balance - c.expected_available
             else c.blocked_balance - c.expected_blocked end as difference,
        c.trans_at as as_of,
        'after entry ' || c.prev_id || ': available ' || c.prev_available || ' + '
            || c.trans_amount || ' should be ' || c.expected_available || ', is '
            || c.available_balance || '; blocked should be ' || c.expected_blocked || ', is '
            || c.blocked_balance as detail,
        abs(c.available_balance - c.expected_available) > p.tolerance
            or abs(c.blocked_balance - c.expected_blocked) > p.tolerance as is_break,
        false as out_of_window
    from compared c, recon.params p
)
select * from final
