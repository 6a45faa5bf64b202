-- core.*: the canonical model, one table per entity, both dialects mapped onto it.
-- Grain and key are stated per table. Money is DECIMAL(18,2), times TIMESTAMPTZ (UTC).
-- Lineage columns on every table: run_id (the run that wrote the row last),
-- fetched_at (when its page was received), response_id (the page's responseId).
create schema if not exists core;

create table if not exists core.transactions (
    transaction_id      varchar primary key,
    card_id             varchar not null,
    transaction_type    varchar not null,
    status              varchar not null,
    funds_direction     varchar not null,
    currency            varchar not null,
    trans_amount        decimal(18,2),
    auth_amount         decimal(18,2) not null,
    settled_amount      decimal(18,2),
    auth_at             timestamptz not null,
    settled_at          timestamptz,
    merchant_name       varchar,
    merchant_country    varchar,
    auth_code           varchar,
    failure_reason      varchar,
    is_topup_mirror     boolean not null,
    dialect             varchar not null,
    run_id              varchar not null,
    fetched_at          timestamptz not null,
    response_id         varchar
);
comment on table core.transactions is 'One row per card transaction (latest fetch wins): a record whose status moves authorized -> settled.';
comment on column core.transactions.transaction_id is 'cardepass transaction id (v2.0 transactionId, v1.4 id).';
comment on column core.transactions.card_id is 'The card the transaction is on.';
comment on column core.transactions.transaction_type is 'Consume, ConsumeRefund, ConsumeReversal, ConsumeRefundReversal, ConsumeDispute, DisputeRelease, AuthQuery, TransFee, or TopUp (v2.0 only, mirrors a CardTopUp card log). v2.0 Purchase -> Consume, Refund -> ConsumeRefund.';
comment on column core.transactions.status is 'authorized (an open hold), settled, or failed. v2.0 Pending/Success/Failed; v1.4 AuthSuccess/Settled/AuthFailure.';
comment on column core.transactions.funds_direction is 'Income or Expenditure, relative to the card (v2.0: the sign of amount).';
comment on column core.transactions.currency is 'ISO-4217 currency of the amounts.';
comment on column core.transactions.trans_amount is 'Original transaction amount (v1.4 transAmount; v2.0 |amount|).';
comment on column core.transactions.auth_amount is 'Authorised amount, a positive magnitude (v2.0: |amount|).';
comment on column core.transactions.settled_amount is 'Settled amount once settled, else null (v2.0: |amount| when Success).';
comment on column core.transactions.auth_at is 'Authorisation time (v2.0 transactionTime), UTC.';
comment on column core.transactions.settled_at is 'Settlement time (v1.4 settleTime), UTC; null while authorized and always in v2.0.';
comment on column core.transactions.merchant_name is 'Merchant name as reported.';
comment on column core.transactions.merchant_country is 'Merchant country code (v1.4 only).';
comment on column core.transactions.auth_code is 'Authorisation code.';
comment on column core.transactions.failure_reason is 'Why a failed transaction failed (v1.4 failureReason).';
comment on column core.transactions.is_topup_mirror is 'True for a v2.0 TopUp transaction, which mirrors a CardTopUp card log and has no effect of its own.';
comment on column core.transactions.dialect is 'API dialect the row was read in: v2.0 or v1.4.';
comment on column core.transactions.run_id is 'The run that wrote this version of the row.';
comment on column core.transactions.fetched_at is 'When the page holding this version was received (UTC).';
comment on column core.transactions.response_id is 'responseId of that page, for cardepass support.';

create table if not exists core.card_account_logs (
    account_log_id      varchar primary key,
    order_no            varchar not null,
    log_type            varchar not null,
    card_id             varchar not null,
    funds_direction     varchar not null,
    currency            varchar not null,
    trans_amount        decimal(18,2) not null,
    total_fee           decimal(18,2) not null,
    total_amount        decimal(18,2) not null,
    status              varchar not null,
    failure_reason      varchar,
    trans_at            timestamptz not null,
    completed_at        timestamptz,
    note                varchar,
    dialect             varchar not null,
    run_id              varchar not null,
    fetched_at          timestamptz not null,
    response_id         varchar
);
comment on table core.card_account_logs is 'One row per Standard-card fund movement (card log): ApplyCard, CardTopUp, CardWithdraw, CardCancel.';
comment on column core.card_account_logs.account_log_id is 'cardepass accountLogId.';
comment on column core.card_account_logs.order_no is 'The card order behind the movement (cardOrderNo).';
comment on column core.card_account_logs.log_type is 'ApplyCard, CardTopUp, CardWithdraw or CardCancel (cardAccountLogType).';
comment on column core.card_account_logs.card_id is 'The Standard card whose balance moves.';
comment on column core.card_account_logs.funds_direction is 'Income (card balance up) or Expenditure (down).';
comment on column core.card_account_logs.currency is 'ISO-4217 currency.';
comment on column core.card_account_logs.trans_amount is 'Principal moved (positive magnitude).';
comment on column core.card_account_logs.total_fee is 'totalFee as reported (compare with core.card_fee_items).';
comment on column core.card_account_logs.total_amount is 'totalAmount as reported (= trans_amount + total_fee when it ties).';
comment on column core.card_account_logs.status is 'Pending, Completed or Failure; only Completed logs move money.';
comment on column core.card_account_logs.failure_reason is 'Why a Failure log failed.';
comment on column core.card_account_logs.trans_at is 'When the movement was requested (transTime), UTC.';
comment on column core.card_account_logs.completed_at is 'When it completed (completedTime), UTC.';
comment on column core.card_account_logs.note is 'Free text note.';
comment on column core.card_account_logs.dialect is 'API dialect the row was read in.';
comment on column core.card_account_logs.run_id is 'The run that wrote this version of the row.';
comment on column core.card_account_logs.fetched_at is 'When the page holding this version was received (UTC).';
comment on column core.card_account_logs.response_id is 'responseId of that page.';

create table if not exists core.card_fee_items (
    account_log_id      varchar not null,
    item_no             integer not null,
    fee_type            varchar not null,
    amount              decimal(18,2) not null,
    currency            varchar not null,
    run_id              varchar not null,
    primary key (account_log_id, item_no)
);
comment on table core.card_fee_items is 'The feeItems of each card log, one row per item (replaced whenever the log is loaded again).';
comment on column core.card_fee_items.account_log_id is 'The card log the fee belongs to.';
comment on column core.card_fee_items.item_no is 'Position of the item in feeItems, from 1.';
comment on column core.card_fee_items.fee_type is 'OpenCardFee, TopUpFee, CardWithdrawFee, CancelCardFee, ...';
comment on column core.card_fee_items.amount is 'Fee amount (positive magnitude).';
comment on column core.card_fee_items.currency is 'ISO-4217 currency.';
comment on column core.card_fee_items.run_id is 'The run that wrote the item.';

create table if not exists core.account_logs (
    account_log_id      varchar primary key,
    trans_type          varchar not null,
    funds_direction     varchar not null,
    currency            varchar not null,
    trans_amount        decimal(18,2) not null,
    available_balance   decimal(18,2) not null,
    blocked_balance     decimal(18,2) not null,
    order_no            varchar,
    card_id             varchar,
    trans_at            timestamptz not null,
    note                varchar,
    dialect             varchar not null,
    run_id              varchar not null,
    fetched_at          timestamptz not null,
    response_id         varchar
);
comment on table core.account_logs is 'The customer account ledger, one row per entry; per currency ordered by (trans_at, account_log_id).';
comment on column core.account_logs.account_log_id is 'cardepass account log id.';
comment on column core.account_logs.trans_type is 'accountTransType: AccountTopUp, AccountFee, ApplyCard, CardTopUp, AuthHold, AuthRelease, Consume, ...';
comment on column core.account_logs.funds_direction is 'Income or Expenditure; agrees with the sign of trans_amount.';
comment on column core.account_logs.currency is 'Account currency (ISO-4217).';
comment on column core.account_logs.trans_amount is 'Signed amount: Income > 0, Expenditure < 0.';
comment on column core.account_logs.available_balance is 'Available balance after this entry.';
comment on column core.account_logs.blocked_balance is 'Blocked (frozen) balance after this entry.';
comment on column core.account_logs.order_no is 'Order number (funding types) or transaction id (ShareBalance spending).';
comment on column core.account_logs.card_id is 'The card concerned, if any (cardInfo.cardId).';
comment on column core.account_logs.trans_at is 'Entry time (transTime), UTC.';
comment on column core.account_logs.note is 'Free text note.';
comment on column core.account_logs.dialect is 'API dialect the row was read in.';
comment on column core.account_logs.run_id is 'The run that wrote this version of the row.';
comment on column core.account_logs.fetched_at is 'When the page holding this version was received (UTC).';
comment on column core.account_logs.response_id is 'responseId of that page.';

create table if not exists core.card_snapshots (
    card_id             varchar not null,
    fetched_at          timestamptz not null,
    card_model          varchar not null,
    currency            varchar not null,
    status              varchar not null,
    balance             decimal(18,2),
    used_credit_amount  decimal(18,2),
    max_auth_amount     decimal(18,2),
    max_credit_amount   decimal(18,2),
    alias               varchar,
    product_code        varchar,
    created_at          timestamptz,
    dialect             varchar not null,
    run_id              varchar not null,
    response_id         varchar,
    service_at          timestamptz,
    primary key (card_id, fetched_at)
);
comment on table core.card_snapshots is 'Card snapshots, one row per card per fetch (history, never overwritten). Card numbers and CVVs are never stored.';
comment on column core.card_snapshots.card_id is 'cardepass card id.';
comment on column core.card_snapshots.fetched_at is 'When the snapshot was taken (UTC): balances are as of this moment.';
comment on column core.card_snapshots.card_model is 'Standard (holds its own balance) or ShareBalance (spends the account).';
comment on column core.card_snapshots.currency is 'Card currency (ISO-4217).';
comment on column core.card_snapshots.status is 'Active, Blocked, Cancelled or Expired (v1.4 Cancel -> Cancelled).';
comment on column core.card_snapshots.balance is 'Card balance (v2.0 balance, v1.4 balanceAmount); meaningful for Standard cards.';
comment on column core.card_snapshots.used_credit_amount is 'ShareBalance credit used (v1.4 usedCreditAmount); null in v2.0, which lacks it.';
comment on column core.card_snapshots.max_auth_amount is 'Per-transaction limit.';
comment on column core.card_snapshots.max_credit_amount is 'Total credit limit; null = unlimited.';
comment on column core.card_snapshots.alias is 'Card alias.';
comment on column core.card_snapshots.product_code is 'Product code (v1.4).';
comment on column core.card_snapshots.created_at is 'When the card was created (v2.0 createdOn, v1.4 applyTime).';
comment on column core.card_snapshots.dialect is 'API dialect the row was read in.';
comment on column core.card_snapshots.run_id is 'The run that took the snapshot.';
comment on column core.card_snapshots.response_id is 'responseId of the reply.';
alter table core.card_snapshots add column if not exists service_at timestamptz;
comment on column core.card_snapshots.service_at is 'The service''s clock when it answered (the reply''s Date header, UTC, to the second; null when it sent none): the snapshot''s time for the checks.';

create table if not exists core.account_snapshots (
    currency            varchar not null,
    fetched_at          timestamptz not null,
    available_balance   decimal(18,2) not null,
    frozen_balance      decimal(18,2),
    dialect             varchar not null,
    run_id              varchar not null,
    response_id         varchar,
    service_at          timestamptz,
    primary key (currency, fetched_at)
);
comment on table core.account_snapshots is 'Account balance snapshots per currency, one row per fetch.';
comment on column core.account_snapshots.currency is 'Account currency.';
comment on column core.account_snapshots.fetched_at is 'When the snapshot was taken (UTC).';
comment on column core.account_snapshots.available_balance is 'Available balance (v2.0 availableBalance, v1.4 amount).';
comment on column core.account_snapshots.frozen_balance is 'Frozen balance (v2.0 frozenBalance); null in v1.4, which lacks it.';
comment on column core.account_snapshots.dialect is 'API dialect the row was read in.';
comment on column core.account_snapshots.run_id is 'The run that took the snapshot.';
comment on column core.account_snapshots.response_id is 'responseId of the reply.';
alter table core.account_snapshots add column if not exists service_at timestamptz;
comment on column core.account_snapshots.service_at is 'The service''s clock when it answered (the reply''s Date header, UTC, to the second; null when it sent none): the snapshot''s time for the checks.';

create table if not exists core.orders (
    order_no            varchar primary key,
    customer_order_no   varchar,
    order_type          varchar not null,
    card_model          varchar not null,
    status              varchar not null,
    card_id             varchar,
    currency            varchar,
    principal_amount    decimal(18,2),
    fee_amount          decimal(18,2),
    total_amount        decimal(18,2),
    created_at          timestamptz,
    completed_at        timestamptz,
    dialect             varchar not null,
    run_id              varchar not null,
    fetched_at          timestamptz not null,
    response_id         varchar
);
comment on table core.orders is 'Card orders referenced by logs (latest fetch wins), amounts normalised across order types.';
comment on column core.orders.order_no is 'cardepass order number.';
comment on column core.orders.customer_order_no is 'The customer''s own order number.';
comment on column core.orders.order_type is 'ApplyCard, CardTopUp, CardWithdraw, CardCancel, CreditLimit, CardBlock, CardUnblock.';
comment on column core.orders.card_model is 'Standard or ShareBalance (which order endpoint answered).';
comment on column core.orders.status is 'Pending, Processing, Completed or Failed.';
comment on column core.orders.card_id is 'The card of the order.';
comment on column core.orders.currency is 'Card currency.';
comment on column core.orders.principal_amount is 'Principal: totalTopUpAmount/topUpAmount, withdrawAmount or refundAmount; 0 for a ShareBalance opening; null when the type has none.';
comment on column core.orders.fee_amount is 'Fee: totalFee, transFee, withdrawFee or fee; null when the order carries none (a CardCancel order).';
comment on column core.orders.total_amount is 'Total: totalPayAmount or totalAmount; null when the order carries none.';
comment on column core.orders.created_at is 'createdOn, UTC.';
comment on column core.orders.completed_at is 'completedOn, UTC.';
comment on column core.orders.dialect is 'API dialect the row was read in.';
comment on column core.orders.run_id is 'The run that wrote this version of the row.';
comment on column core.orders.fetched_at is 'When the reply was received (UTC).';
comment on column core.orders.response_id is 'responseId of the reply.';

create table if not exists core.quarantine (
    run_id              varchar not null,
    stream              varchar not null,
    item_key            varchar,
    failed_checks       varchar not null,
    raw_item            json not null,
    response_id         varchar,
    quarantined_at      timestamptz not null,
    fetched_at          timestamptz
);
alter table core.quarantine add column if not exists fetched_at timestamptz;
comment on table core.quarantine is 'Items that cannot be trusted as records (missing key, wrong type, unknown enum, >2 decimals, ...), and conflicting duplicates. Nothing fetched is dropped silently.';
comment on column core.quarantine.run_id is 'The run that quarantined the item.';
comment on column core.quarantine.stream is 'Stream or snapshot the item came from.';
comment on column core.quarantine.item_key is 'The item''s natural key, when it has one.';
comment on column core.quarantine.failed_checks is 'The checks that failed, e.g. "auth_amount: at most 2 decimals; status: isin".';
comment on column core.quarantine.raw_item is 'The item exactly as received.';
comment on column core.quarantine.response_id is 'responseId of the page it came on.';
comment on column core.quarantine.quarantined_at is 'When it was quarantined (UTC).';
comment on column core.quarantine.fetched_at is 'When the item was fetched (UTC; null on rows from before this column): a valid fetch of the same key at or after it replaces it.';
