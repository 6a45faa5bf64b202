-- precondition (auth_settle_variance): transactions carry an authorised and a settled amount
-- (v1.4; a v2.0 transaction carries one), or there is no transaction to compare.
select
    exists (select 1 from core.transactions where dialect <> 'v2.0')
    or not exists (select 1 from core.transactions)
