-- grain: one record that cannot be trusted now (quarantined and not replaced since).
create or replace view staging.stg_untrusted as
select * from staging.stg_quarantined_records where not replaced;
comment on view staging.stg_untrusted is 'The records that cannot be trusted now: quarantined and not replaced. Each is a quarantined_record break, and blocks the comparisons that include it (blocked_by_quarantine).';
