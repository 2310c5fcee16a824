#!/usr/bin/env python3
"""Seed a scratch Qianlink for scripts/fuzz.sh and write schemathesis dictionaries.

Usage: fuzz_seed.py BASE_URL ADMIN_KEY EMPLOYER_KEY OUT_DIR

Creates, through the API, a few records the fuzzer cannot make from random data
(valid ID numbers, existing codes): a county office, a broker and a cooperation
team, three workers, two jobs, a placement with a report, a monitoring round.
Then writes one quoted value a line (libFuzzer dictionary format) into OUT_DIR: ids.txt (every id created),
id_numbers.txt (valid ID numbers not yet in the ledger), codes.txt (division
codes that exist), households.txt, phones.txt. The
schemathesis config binds parameters to these files with a probability, so
the fuzzer mixes real records with random values.
"""
import json
import os
import sys
import urllib.error
import urllib.request

base, admin, employer, out = sys.argv[1:5]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(county, birth, seq):
    body = f"{county}{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, W)) % 11]


def call(key, method, path, body=None, expect=(200, 201)):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(req) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    if status not in expect:
        sys.exit(f"fuzz_seed: {method} {path} answered {status}: {text[:300]!r}")
    return json.loads(text) if text else None


def org(name, kind, county=None):
    body = {"name": name, "kind": kind}
    if county:
        body["county_code"] = county
    o = call(admin, "POST", "/v1/organizations", body)
    k = call(admin, "POST", f"/v1/organizations/{o['id']}/api-keys", {"issued_to": "fuzz"})
    return o["id"], k["key"], k["id"]


ids = []
office_id, office_key, office_key_id = org("安龙县就业局", "county_office", "522328")
broker_id, broker_key, _ = org("安龙劳务合作社", "broker")
team_id, _, spare_key_id = org("东莞协作工作队", "coop_team")
ids += [office_id, broker_id, team_id, spare_key_id, call(employer, "GET", "/v1/me")["org_id"]]
call(admin, "PUT", f"/v1/coop-teams/{team_id}", {"guangdong_city_code": "441900"})

workers = []
for i, (birth, status) in enumerate([("19850312", "unemployed"), ("19920701", "employed"), ("20010115", "unemployed")]):
    w = call(office_key, "POST", "/v1/workers", {
        "id_number": id_number("522328", birth, 11 + 2 * i), "name": f"王{i}", "phone": f"1381234{i:04d}",
        "household_code": f"HH-FUZZ-{i // 2}", "resettlement_site": "碧海阳光新城", "county_code": "522328",
        "categories": ["relocated"], "skills": ["装配", "电焊"], "employment_status": status,
        "willing_cross_province": True,
    })
    workers.append(w["id"])
ids += workers

jobs = []
for title, county in [("电子厂普工", "441900"), ("安龙县帮扶车间缝纫工", "522328")]:
    j = call(employer, "POST", "/v1/jobs", {
        "title": title, "description": "长白班，包吃住", "skills": ["装配"], "work_county_code": county,
        "wage_min": 3500, "wage_max": 6000, "openings": 5, "contract_months": 12,
    })
    jobs.append(j["id"])
ids += jobs

me = call(employer, "GET", "/v1/me")
p = call(broker_key, "POST", "/v1/placements", {
    "worker_id": workers[0], "employer_org_id": me["org_id"], "broker_org_id": broker_id, "job_id": jobs[0],
    "start_date": "2024-01-02", "contract_months": 12, "work_county_code": "441900", "organised_by": "broker",
})
ids.append(p["id"])
call(broker_key, "POST", f"/v1/placements/{p['id']}/reports",
     {"month": "2024-01", "employed": True, "wage": 5200, "social_insurance_paid": True})
call(admin, "POST", "/v1/monitoring-rounds", {"period": "2024-03"})

os.makedirs(out, exist_ok=True)
fresh = [id_number(c, f"19{70 + i % 30:02d}{1 + i % 12:02d}{1 + i % 28:02d}", 101 + i)
         for i, c in enumerate(["522328", "520102", "522301"] * 20)]
files = {
    "ids": ids,
    "id_numbers": fresh,
    "codes": ["522328", "522301", "520102", "520000", "522300", "441900", "440100", "440000"],
    "households": ["HH-FUZZ-0", "HH-FUZZ-1"],
    "phones": [f"1390000{i:04d}" for i in range(20)],
}
for name, values in files.items():
    with open(os.path.join(out, f"{name}.txt"), "w") as f:
        f.write("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in values))
print(f"seeded: {len(workers)} workers, {len(jobs)} jobs, 1 placement, 4 organisations, 1 monitoring round")
