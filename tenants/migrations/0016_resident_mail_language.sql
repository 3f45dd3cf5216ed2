-- Residents' emails in their own language: a registration already records a language (until now
-- always the room's); it now records the language the resident was reading in when they
-- registered, so it is limited to the languages Townhall has. A data request records the
-- language of the "Your data" page it was made on, so its export email is in that language too.

alter table registrations
  add constraint registrations_language check (language in ('en', 'cy'));

alter table data_requests
  add column language text not null default 'en' check (language in ('en', 'cy'));
