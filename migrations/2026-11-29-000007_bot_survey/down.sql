ALTER TABLE monitoring_responses DROP CONSTRAINT monitoring_responses_income_or_band;
ALTER TABLE monitoring_responses DROP COLUMN income_band;

DROP INDEX bot_queue_survey_once;
DELETE FROM bot_queue WHERE kind = 'survey';
ALTER TABLE bot_queue DROP CONSTRAINT bot_queue_survey_period;
ALTER TABLE bot_queue DROP CONSTRAINT bot_queue_kind_check;
ALTER TABLE bot_queue ADD CONSTRAINT bot_queue_kind_check CHECK (kind IN ('offer', 'checkin'));
