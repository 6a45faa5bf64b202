-- recon.*: the money model tables, the check catalogue, the run's parameters, breaks with a
-- lifecycle, the summary. The views over them are in marts/.
create schema if not exists recon;

-- the parameters of the reconciliation run last (one row, written by reconcile)
create or replace table recon.params (
    run_id        varchar,
    as_of         timestamptz,
    tolerance     decimal(18,2),
    stale_days    integer,
    variance_pct  decimal(9,4)
);
comment on table recon.params is 'The parameters of the last reconciliation.';
comment on column recon.params.run_id is 'The run reconciled last.';
comment on column recon.params.as_of is 'When it was reconciled (UTC): the run''s time, the one clock that ages and staleness count to (recon.aged_breaks).';
comment on column recon.params.tolerance is 'Amounts tie when they differ by at most this much.';
comment on column recon.params.stale_days is 'An authorisation still open this many days after authTime is stale.';
comment on column recon.params.variance_pct is 'auth_settle_variance reports settled amounts more than this % off auth.';

-- the check catalogue (transform/sql/checks/checks.csv), loaded by reconcile
create or replace table recon.checks (
    name         varchar primary key,
    severity     varchar not null,
    stream       varchar,
    requires     varchar,
    skip_reason  varchar,
    root_rank    integer
);
comment on table recon.checks is 'The check catalogue, loaded from transform/sql/checks/checks.csv: one row per check of RECONCILIATION.md, in the order they run.';
comment on column recon.checks.name is 'The check (its SQL is transform/sql/checks/<name>.sql).';
comment on column recon.checks.severity is 'error, warning or info: the severity of its breaks.';
comment on column recon.checks.stream is 'The stream its out-of-window comparisons are counted under in the summary (null: it has none).';
comment on column recon.checks.requires is 'The precondition it needs to run (transform/sql/checks/requires/<requires>.sql), else null: it always runs.';
comment on column recon.checks.skip_reason is 'Why it is skipped when its precondition does not hold.';
comment on column recon.checks.root_rank is 'Among breaks of one money movement, the one of the lowest rank is the root that explains the others (null: after every ranked check).';

create table if not exists recon.breaks (
    break_id        varchar primary key,
    "check"         varchar not null,
    severity        varchar not null,
    entity_type     varchar not null,
    entity_id       varchar not null,
    card_id         varchar,
    currency        varchar,
    expected        decimal(18,2),
    actual          decimal(18,2),
    difference      decimal(18,2),
    as_of           timestamptz,
    detail          varchar,
    first_seen_at   timestamptz not null,
    last_seen_at    timestamptz not null,
    status          varchar not null,
    run_id          varchar not null,
    root_id         varchar
);
-- a database made by an earlier version: add what it lacks (new columns go last)
alter table recon.breaks add column if not exists root_id varchar;
comment on table recon.breaks is 'Every break ever found, one row per identity (check, entity_type, entity_id, currency): open while runs still find it, resolved once a run no longer does.';
comment on column recon.breaks.break_id is 'Stable hash of the identity (check, entity_type, entity_id, currency).';
comment on column recon.breaks."check" is 'The check that found it (RECONCILIATION.md names).';
comment on column recon.breaks.severity is 'error, warning or info.';
comment on column recon.breaks.entity_type is 'account, account_log, card, order or transaction.';
comment on column recon.breaks.entity_id is 'The entity''s id (currency for an account).';
comment on column recon.breaks.card_id is 'The card concerned, when there is one.';
comment on column recon.breaks.currency is 'Currency of the amounts.';
comment on column recon.breaks.expected is 'What the other side says the amount should be.';
comment on column recon.breaks.actual is 'The amount reported.';
comment on column recon.breaks.difference is 'actual - expected.';
comment on column recon.breaks.as_of is 'The moment the comparison refers to (snapshot or entry time).';
comment on column recon.breaks.detail is 'What does not tie, in words.';
comment on column recon.breaks.first_seen_at is 'When a run first found the break (kept across runs: breaks age).';
comment on column recon.breaks.last_seen_at is 'When a run last found it.';
comment on column recon.breaks.status is 'open or resolved.';
comment on column recon.breaks.run_id is 'The run that last changed the row.';
comment on column recon.breaks.root_id is 'The break that explains this one: breaks of one money movement (one order, one account entry, one transaction) share a root, and the amount at stake counts each root once. A break that nothing else explains is its own root.';

-- Day arithmetic and bucket labels of a break's ages. The clock they count to is chosen once,
-- in marts/aged_breaks.sql (the reconciliation's as_of): use recon.aged_breaks, not these.
create or replace macro recon.age_days(since_ts, until_ts) as
    greatest(date_diff('second', since_ts, until_ts), 0) // 86400;
comment on macro recon.age_days is 'Whole days of 24 hours from since_ts to until_ts (0 if until_ts is earlier): a break''s age (from as_of) or days open (from first_seen_at).';
create or replace macro recon.age_bucket(days) as
    case
        when days <= 1 then '0-1 d'
        when days <= 7 then '2-7 d'
        when days <= 30 then '8-30 d'
        else '> 30 d'
    end;
comment on macro recon.age_bucket is 'The aging bucket of an age in days: 0-1 d, 2-7 d, 8-30 d, > 30 d.';

create table if not exists recon.check_runs (
    run_id            varchar not null,
    "check"           varchar not null,
    severity          varchar not null,
    entities_checked  bigint,
    breaks            bigint,
    out_of_window     bigint,
    skipped_reason    varchar,
    ran_at            timestamptz not null,
    primary key (run_id, "check")
);
comment on table recon.check_runs is 'Per run and check: entities checked, breaks found, entries out of the extracted window, or why the check was skipped.';
comment on column recon.check_runs.run_id is 'The run.';
comment on column recon.check_runs."check" is 'The check.';
comment on column recon.check_runs.severity is 'The check''s severity.';
comment on column recon.check_runs.entities_checked is 'How many entities the check compared.';
comment on column recon.check_runs.breaks is 'How many of them broke at the check''s own severity, in the window (rows at a lower severity, such as card_balance''s insufficient history, count under that severity in the summary).';
comment on column recon.check_runs.out_of_window is 'Entities whose counterpart lies outside the extracted window: counted, not reported as breaks.';
comment on column recon.check_runs.skipped_reason is 'Why the check did not run (a field the dialect lacks), else null.';
comment on column recon.check_runs.ran_at is 'When it ran (UTC).';
alter table recon.check_runs add column if not exists blocked_by_quarantine bigint;
comment on column recon.check_runs.blocked_by_quarantine is 'Comparisons that include a record that cannot be trusted (recon.untrusted): counted here, never reported as breaks nor taken as ties; the record itself is a quarantined_record break.';

create table if not exists recon.run_summary (
    run_id            varchar not null,
    section           varchar not null,
    name              varchar not null,
    currency          varchar,
    verdict           varchar,
    fetched           bigint,
    loaded            bigint,
    quarantined       bigint,
    out_of_window     bigint,
    entities_checked  bigint,
    errors            bigint,
    warnings          bigint,
    infos             bigint,
    abs_difference    decimal(18,2),
    amount_on_hold    decimal(18,2),
    note              varchar,
    generated_at      timestamptz not null,
    label             varchar,
    dialect           varchar,
    period_from       date,
    period_to         date,
    snapshot_at       timestamptz
);
-- a database made by an earlier version: add what it lacks (new columns go last)
alter table recon.run_summary add column if not exists label varchar;
alter table recon.run_summary add column if not exists dialect varchar;
alter table recon.run_summary add column if not exists period_from date;
alter table recon.run_summary add column if not exists period_to date;
alter table recon.run_summary add column if not exists snapshot_at timestamptz;
alter table recon.run_summary add column if not exists blocked_by_quarantine bigint;
comment on table recon.run_summary is 'One summary per run, as rows: section run (the verdict), stream (fetched/loaded/quarantined/out-of-window), check (per currency: entities checked, breaks by severity, total absolute difference, or why skipped), hold (amount on hold per currency).';
comment on column recon.run_summary.run_id is 'The run.';
comment on column recon.run_summary.section is 'run, stream, check or hold.';
comment on column recon.run_summary.name is 'The run id, stream name, check name, or "open authorizations".';
comment on column recon.run_summary.currency is 'Currency of the amounts on the row (check and hold rows).';
comment on column recon.run_summary.verdict is 'Run row: incomplete, breaks, reconciled_with_warnings or reconciled (the first that applies).';
comment on column recon.run_summary.fetched is 'Stream row: items fetched this run.';
comment on column recon.run_summary.loaded is 'Stream row: items loaded into core.*.';
comment on column recon.run_summary.quarantined is 'Stream row: items quarantined.';
comment on column recon.run_summary.out_of_window is 'Entries whose counterpart lies outside the extracted window (counted, not breaks).';
comment on column recon.run_summary.entities_checked is 'Check row: entities the check compared.';
comment on column recon.run_summary.errors is 'Open error breaks (run and check rows).';
comment on column recon.run_summary.warnings is 'Open warning breaks.';
comment on column recon.run_summary.infos is 'Open info breaks.';
comment on column recon.run_summary.abs_difference is 'Check row: total absolute difference of its open breaks in the currency.';
comment on column recon.run_summary.amount_on_hold is 'Hold row: authorised, unsettled spending per currency (not a break; explains balance gaps).';
comment on column recon.run_summary.note is 'Why a check was skipped, why a stream failed, or why the run is incomplete.';
comment on column recon.run_summary.generated_at is 'When the summary was written (UTC).';
comment on column recon.run_summary.label is 'The account label of the run (--label, CARDREC_LABEL; default "default").';
comment on column recon.run_summary.dialect is 'The API dialect the service spoke (v2.0 or v1.4).';
comment on column recon.run_summary.period_from is 'First day (UTC) of the period reconciled: the start of the extracted history.';
comment on column recon.run_summary.period_to is 'Last day (UTC, inclusive) of the period reconciled: the last day every stream covers.';
comment on column recon.run_summary.snapshot_at is 'When the run took its balance snapshots (the account snapshot, else the last card snapshot; UTC).';
comment on column recon.run_summary.blocked_by_quarantine is 'Per check: comparisons that include a record that cannot be trusted, counted instead of reported; on the run row, their sum. The records themselves are the quarantined_record check''s errors.';
