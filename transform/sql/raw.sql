-- raw.pages and meta.state: what extraction keeps (grain: one page; one stream).
create schema if not exists raw;
create schema if not exists meta;

create table if not exists raw.pages (
    run_id        varchar     not null,
    stream        varchar     not null,
    slice_from    date,
    slice_to      date,
    page_no       integer     not null,
    request_path  varchar     not null,
    request_params json,
    response_id   varchar,
    fetched_at    timestamptz not null,
    item_count    integer     not null,
    payload       json        not null
);
comment on table raw.pages is 'Every API page as received: the audit trail and replay source (card numbers and CVVs removed).';
comment on column raw.pages.run_id is 'The run that fetched the page.';
comment on column raw.pages.stream is 'transactions, card_account_logs, account_logs, or a snapshot: cards, accounts, orders.';
comment on column raw.pages.slice_from is 'First day of the date slice the page belongs to (null for snapshots).';
comment on column raw.pages.slice_to is 'Last day (inclusive) of the date slice (null for snapshots).';
comment on column raw.pages.page_no is 'Position of the page in its walk, from 1.';
comment on column raw.pages.request_path is 'The endpoint path, e.g. /v1/transactions.';
comment on column raw.pages.request_params is 'The query parameters exactly as sent.';
comment on column raw.pages.response_id is 'The envelope''s responseId, for cardepass support.';
comment on column raw.pages.fetched_at is 'When the page was received (UTC).';
comment on column raw.pages.item_count is 'Number of items on the page.';
comment on column raw.pages.payload is 'The reply body as received (JSON).';
alter table raw.pages add column if not exists service_at timestamptz;
comment on column raw.pages.service_at is 'The service''s clock when it answered: the reply''s Date header (UTC, to the second); null when it sent none.';

create table if not exists meta.state (
    stream      varchar primary key,
    watermark   date        not null,
    run_id      varchar     not null,
    updated_at  timestamptz not null
);
comment on table meta.state is 'Per stream, the last day fully extracted; the next run resumes from it minus the lookback.';
comment on column meta.state.stream is 'transactions, card_account_logs or account_logs.';
comment on column meta.state.watermark is 'Last day (inclusive, UTC) whose items are all loaded.';
comment on column meta.state.run_id is 'The run that moved the watermark last.';
comment on column meta.state.updated_at is 'When the watermark moved (UTC).';
