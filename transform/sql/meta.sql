-- meta.runs: per run and stream, what was fetched, loaded and quarantined.
-- Invariant: fetched = loaded + quarantined on every row.
create schema if not exists meta;

create table if not exists meta.runs (
    run_id        varchar     not null,
    stream        varchar     not null,
    fetched       bigint      not null,
    loaded        bigint      not null,
    quarantined   bigint      not null,
    error         varchar,
    started_at    timestamptz not null,
    updated_at    timestamptz not null,
    primary key (run_id, stream)
);
comment on table meta.runs is 'Per run and stream: items fetched, loaded into core.*, quarantined (fetched = loaded + quarantined), and the error that stopped the stream, if any.';
comment on column meta.runs.run_id is 'The run.';
comment on column meta.runs.stream is 'transactions, card_account_logs, account_logs, cards, accounts or orders.';
comment on column meta.runs.fetched is 'Items received and processed.';
comment on column meta.runs.loaded is 'Items written to their core table (identical repeats included).';
comment on column meta.runs.quarantined is 'Items written to core.quarantine instead (failed checks, conflicts).';
comment on column meta.runs.error is 'Why the stream stopped (e.g. a schema failure), or null.';
comment on column meta.runs.started_at is 'When the run first recorded this stream (UTC).';
comment on column meta.runs.updated_at is 'When the counts last changed (UTC).';
