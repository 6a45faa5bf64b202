-- grain: one open break (infos included), aged as recon.aged_breaks defines it.
create or replace view recon.open_breaks as
select * from recon.aged_breaks
where status = 'open';
comment on view recon.open_breaks is 'Breaks still open after the last reconciliation (infos included: filter severity), with their age (days since the money moved, as_of), days open (since first seen), aging bucket and amount at stake (recon.aged_breaks). Its other columns are those of recon.breaks.';
