DROP TABLE monitoring_responses;
DROP TABLE monitoring_rounds;
