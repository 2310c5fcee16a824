DROP TABLE offers;
ALTER TABLE workers DROP COLUMN seeking_while_employed;
