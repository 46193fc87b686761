ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_public_id_key UNIQUE (public_id);
