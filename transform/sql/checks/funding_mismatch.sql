-- grain: one Completed card log that has its funding account entry.
-- invariant: the account entry's trans_amount = account_sign * (total or trans amount) as the
-- money model says (top-ups: -(principal + fee); withdrawals and cancellations: +principal).
with logs as (
    select l.*, m.account_sign, m.account_amount
    from core.card_account_logs l
    join recon.card_log_effects m using (log_type, funds_direction)
    where l.status = 'Completed'
),
funding as (
    select a.*
    from core.account_logs a
    join recon.account_log_types t using (trans_type)
    where t.category = 'funding'
),
paired as (
    select
        l.*,
        l.account_sign * case l.account_amount when 'total_amount' then l.total_amount
                                               else l.trans_amount end as expected,
        f.trans_amount as actual,
        f.account_log_id as entry_id
    from logs l
    join funding f on f.order_no = l.order_no
),
final as (
    select
        'funding_mismatch' as check_name,
        'error' as severity,
        'order' as entity_type,
        order_no as entity_id,
        card_id,
        currency,
        expected,
        actual,
        actual - expected as difference,
        completed_at as as_of,
        log_type || ' card log ' || account_log_id || ' says the account moves ' || expected
            || '; account entry ' || entry_id || ' moved ' || actual as detail,
        abs(actual - expected) > p.tolerance as is_break,
        false as out_of_window
    from paired, recon.params p
)
select * from final
