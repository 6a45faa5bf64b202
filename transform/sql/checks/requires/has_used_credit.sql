-- precondition (card_credit_usage, credit_limit_exceeded): the card endpoint reports
-- usedCreditAmount for ShareBalance cards (v1.4 does, v2.0 does not), or there is no
-- ShareBalance card to compare.
select
    exists (
        select 1 from core.card_snapshots
        where card_model = 'ShareBalance' and used_credit_amount is not null
    )
    or not exists (select 1 from core.card_snapshots where card_model = 'ShareBalance')
