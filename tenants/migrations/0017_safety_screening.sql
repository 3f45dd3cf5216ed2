-- Safety screening (services/screening): what the engine read in each question, so the
-- moderator's card can say why it was flagged, and the two new kinds of private guidance a
-- resident is shown at once (safeguarding signposting; 101 and online reporting).

alter table questions
  add column safety_category text not null default 'none'
    check (safety_category in ('emergency', 'safeguarding', 'report_crime', 'none')),
  add column safety_confidence real check (safety_confidence between 0 and 1),
  add column safety_signals text[] not null default '{}';

alter table private_messages drop constraint private_messages_kind_check;
alter table private_messages
  add constraint private_messages_kind_check
    check (kind in ('emergency', 'safeguarding', 'report_crime', 'rejected', 'reply'));
