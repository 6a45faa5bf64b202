-- grain: one card. The sum of its transactions' effects at its latest and first snapshots.
create or replace view staging.stg_card_transaction_effects as
select
    card_id,
    sum(effect_at_snapshot) as to_snapshot,
    sum(effect_at_first_snapshot) as to_first_snapshot
from staging.stg_transaction_effects
group by card_id;
comment on view staging.stg_card_transaction_effects is 'Per card: the sum of its transactions'' effects at its latest and earliest snapshots.';
comment on column staging.stg_card_transaction_effects.card_id is 'The card.';
comment on column staging.stg_card_transaction_effects.to_snapshot is 'Sum of effects up to the latest snapshot.';
comment on column staging.stg_card_transaction_effects.to_first_snapshot is 'Sum of effects up to the earliest snapshot.';
