-- grain: one transaction (v2.0 TopUp mirrors aside): every one is compared, so a stale hold
-- that settles is seen to tie and is resolved. A type that cannot hold (AuthQuery) ties always.
-- invariant (warning): not still authorized stale_days after its authorisation.
-- Days are UTC days of 24 hours: times are compared as UTC wall-clock times, so the session's
-- time zone (and its daylight-saving changes) cannot move the cutoff.
with params as (
    select *, timezone('UTC', as_of) as as_of_utc from recon.params
),
open_auths as (
    -- a type that holds nothing (AuthQuery, a card verification) is never an open hold
    select t.*, timezone('UTC', t.auth_at) as auth_utc, coalesce(ty.can_hold, true) as can_hold
    from core.transactions t
    left join recon.transaction_types ty using (transaction_type)
    where not t.is_topup_mirror
),
final as (
    select
        'stale_authorization' as check_name,
        'warning' as severity,
        'transaction' as entity_type,
        t.transaction_id as entity_id,
        t.card_id,
        t.currency,
        cast(null as decimal(18,2)) as expected,
        t.auth_amount as actual,
        cast(null as decimal(18,2)) as difference,
        t.auth_at as as_of,
        'authorised ' || t.auth_amount || ' on ' || strftime(t.auth_utc, '%Y-%m-%d')
            || ' (UTC), still open after ' || date_diff('day', t.auth_utc, p.as_of_utc)
            || ' days' as detail,
        t.can_hold and t.status = 'authorized'
            and t.auth_utc < p.as_of_utc - to_days(p.stale_days) as is_break,
        false as out_of_window
    from open_auths t, params p
)
select * from final
