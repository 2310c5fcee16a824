-- The monthly survey through the bot (#6 for #9): a third kind of push in
-- bot_queue, queued at most once per worker and period (a unique key, so a
-- second enqueue for the same period adds nothing), and income bands for
-- workers who prefer a range to a number.

ALTER TABLE bot_queue DROP CONSTRAINT bot_queue_kind_check;
ALTER TABLE bot_queue ADD CONSTRAINT bot_queue_kind_check CHECK (kind IN ('offer', 'checkin', 'survey'));
-- For surveys: the period asked about (first day of the month).
ALTER TABLE bot_queue ADD CONSTRAINT bot_queue_survey_period CHECK (kind <> 'survey' OR period IS NOT NULL);
CREATE UNIQUE INDEX bot_queue_survey_once ON bot_queue (worker_id, period) WHERE kind = 'survey';

-- Either an exact income or a band, never both; the report's median and
-- mean use exact incomes only.
ALTER TABLE monitoring_responses ADD COLUMN income_band text
    CHECK (income_band IN ('lt2000', '2000_3000', '3000_4000', '4000_5000', '5000_6000', '6000_8000', 'ge8000'));
ALTER TABLE monitoring_responses ADD CONSTRAINT monitoring_responses_income_or_band
    CHECK (monthly_income IS NULL OR income_band IS NULL);
