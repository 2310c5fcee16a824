#!/usr/bin/env bash
# Milestone-scan benchmark for docs/benchmarks.md (issue #7): 1,000,000
# placements with six monthly reports each (about a third due), seeded with
# SQL into a scratch database, then `qianlink scan` twice (release build).
# Usage: bench/scan.sh [placements]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${1:-1000000}"
scripts/services.sh start
. .local/services.env
cargo build --release -p qianlink
DB_URL="${DATABASE_URL%/*}/qianlink_bench_scan"
psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS qianlink_bench_scan WITH (FORCE)" -qc "CREATE DATABASE qianlink_bench_scan" >/dev/null
target/release/qianlink migrate --database-url "$DB_URL"
echo "seeding $N placements with 6 reports each ..."
START=$(date +%s.%N)
psql "$DB_URL" -v ON_ERROR_STOP=1 -q <<SQL
INSERT INTO organizations (id, name, kind) VALUES
  ('00000000-0000-0000-0000-0000000000e1', '基准用人单位', 'employer'),
  ('00000000-0000-0000-0000-0000000000b1', '基准劳务公司', 'broker');
INSERT INTO households (id, code, county_code)
  SELECT ('00000000-0000-0000-0001-' || lpad(to_hex(i), 12, '0'))::uuid, 'BH' || i, '522328' FROM generate_series(1, $N / 2) i;
INSERT INTO workers (id, id_number_enc, id_number_hash, id_number_masked, name, phone_enc, phone_hash, phone_masked,
                     birth_date, gender, household_id, county_code, categories)
  SELECT ('00000000-0000-0000-0002-' || lpad(to_hex(i), 12, '0'))::uuid,
         decode(md5('i' || i), 'hex'), decode(md5('a' || i) || md5('b' || i), 'hex'), '522328********000X', '基准' || i,
         decode(md5('p' || i), 'hex'), decode(md5('c' || i) || md5('d' || i), 'hex'), '138****0000',
         date '1970-01-01' + (i % 12000), CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END,
         ('00000000-0000-0000-0001-' || lpad(to_hex((i + 1) / 2), 12, '0'))::uuid, '522328',
         CASE WHEN i % 4 = 0 THEN ARRAY['relocated', 'returning'] WHEN i % 4 = 1 THEN ARRAY['relocated', 'poverty_alleviated'] ELSE ARRAY['relocated'] END
  FROM generate_series(1, $N) i;
INSERT INTO placements (id, worker_id, employer_org_id, broker_org_id, registered_by_org_id, start_date, contract_months,
                        work_county_code, organised_by)
  SELECT ('00000000-0000-0000-0003-' || lpad(to_hex(i), 12, '0'))::uuid,
         ('00000000-0000-0000-0002-' || lpad(to_hex(i), 12, '0'))::uuid,
         '00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000b1',
         date '2022-01-01' + (i % 900), 12, CASE WHEN i % 3 = 0 THEN '441900' ELSE '522301' END, 'broker'
  FROM generate_series(1, $N) i;
-- Six monthly employer reports; two placements in three have a month not employed.
INSERT INTO placement_reports (placement_id, month, source, employed, social_insurance_paid, wage)
  SELECT p.id, (date_trunc('month', p.start_date) + make_interval(months => k))::date, 'employer_report',
         NOT (k = 1 AND (('x' || substr(p.id::text, 25, 12))::bit(48)::bigint % 3) <> 0), true, 5000
  FROM placements p CROSS JOIN generate_series(0, 5) k;
ANALYZE;
SQL
END=$(date +%s.%N)
echo "seeded in $(python3 -c "print(round($END - $START, 1))") s"
for run in first second; do
  START=$(date +%s.%N)
  target/release/qianlink scan --database-url "$DB_URL" --as-of 2024-12-31
  END=$(date +%s.%N)
  echo "$run scan: $(python3 -c "print(round($END - $START, 1))") s"
done
psql "$DB_URL" -tAc "SELECT rule_id, count(*) FROM subsidy_events GROUP BY 1 ORDER BY 1"

# Monitoring report over the same million workers (issue #9): one round with an
# answer from every worker, then the report for the province.
echo "seeding a monitoring round with $N answers ..."
psql "$DB_URL" -v ON_ERROR_STOP=1 -q <<SQL
INSERT INTO monitoring_rounds (period, scope_code) VALUES ('2024-12-01', '520000'), ('2024-11-01', '520000');
INSERT INTO employment_facts (worker_id, status, effective_on, source)
  SELECT id, CASE WHEN random() < 0.9 THEN 'employed' ELSE 'unemployed' END, '2024-12-15', 'monitoring' FROM workers;
INSERT INTO monitoring_responses (period, worker_id, employment_status, work_place, work_province_code, industry, monthly_income, source)
  SELECT '2024-12-01', w.id, f.status,
         CASE WHEN f.status = 'employed' THEN (ARRAY['in_county', 'in_province', 'out_of_province'])[1 + (abs(hashtext(w.id::text)) % 3)] END,
         CASE WHEN f.status = 'employed' AND abs(hashtext(w.id::text)) % 3 = 2 THEN '440000' END,
         (ARRAY['制造业', '建筑业', '服务业', '农业'])[1 + (abs(hashtext(w.id::text || 'i')) % 4)],
         CASE WHEN f.status = 'employed' THEN 2500 + abs(hashtext(w.id::text || 'm')) % 5000 END, 'officer'
    FROM workers w JOIN employment_facts f ON f.worker_id = w.id AND f.source = 'monitoring';
ANALYZE;
SQL
for run in first second; do
  START=$(date +%s.%N)
  target/release/qianlink report --database-url "$DB_URL" --period 2024-12 > /tmp/qianlink-report.json
  END=$(date +%s.%N)
  echo "$run report (1,000,000 workers, province): $(python3 -c "print(round($END - $START, 2))") s"
done
head -c 600 /tmp/qianlink-report.json; echo
