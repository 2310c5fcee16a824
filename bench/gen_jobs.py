#!/usr/bin/env python3
"""Post N realistic jobs through the API for the mixed load benchmark (bench/load.sh).

Usage: gen_jobs.py BASE_URL KEY N IDS_FILE [THREADS]

Titles and skills come from the seed occupations (细类) and skills, places from
the API's divisions (places of work): a third in Guangdong (mostly 东莞, 深圳, 广州, 佛山), the rest
in Guizhou's counties. Fixed seed. Writes the ids of the posted jobs to IDS_FILE,
one a line, for the reads of the workload.
"""
import concurrent.futures
import csv
import json
import os
import random
import sys
import threading
import urllib.error
import urllib.request

base, key, n, ids_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 8
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "seed")
rnd = random.Random(7)

occupations = [(r["code"], r["name"]) for r in csv.DictReader(open(os.path.join(root, "occupations.csv")))
               if r["level"] == "4" and r["code"][0] in "4567"]
skills = [r["item"] for r in csv.DictReader(open(os.path.join(root, "skills.csv")))]
req = urllib.request.Request(base + "/v1/divisions?province_code=520000&level=county",
                             headers={"Authorization": f"Bearer {key}"})
with urllib.request.urlopen(req) as r:
    guizhou = sorted(d["code"] for d in json.loads(r.read())["items"] if d["is_workplace"])
guangdong = ["441900", "441900", "441900", "440306", "440307", "440304", "440113", "440606", "442000", "441302"]
prefixes = ["", "", "长白班", "急招", "包吃住", "电子厂", "帮扶车间", "园区", "大型国企", "五险一金"]
words = ["普工", "操作工", "焊工", "电工", "叉车司机", "缝纫工", "保洁", "厨师", "服务员", "装配工", "质检员", "仓管"]


def posting(i):
    code, name = rnd.choice(occupations)
    title = (rnd.choice(prefixes) + rnd.choice([name, rnd.choice(words)]))[:60]
    lo = rnd.randrange(2500, 7000, 100)
    return {
        "title": title,
        "description": f"{rnd.choice(words)}，{rnd.choice(prefixes) or '月休四天'}，搬迁群众优先，岗位编号{i}",
        "occupation_code": code,
        "skills": rnd.sample(skills, 2),
        "work_county_code": rnd.choice(guangdong) if i % 3 == 0 else rnd.choice(guizhou),
        "wage_min": lo,
        "wage_max": lo + rnd.randrange(0, 3000, 100),
        "openings": rnd.randint(1, 50),
        "contract_months": rnd.choice([None, 6, 12, 24]),
    }


bodies = [posting(i) for i in range(n)]
lock = threading.Lock()
ids = []
refused = []


def post(body):
    req = urllib.request.Request(base + "/v1/jobs", data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            job = json.loads(r.read())
    except urllib.error.HTTPError as e:
        # A generated posting the API refuses (422: e.g. an occupation name the
        # discrimination check flags) is counted and skipped.
        if e.code != 422:
            raise
        with lock:
            refused.append(e.read().decode()[:200])
        return
    with lock:
        ids.append(job["id"])


with concurrent.futures.ThreadPoolExecutor(threads) as pool:
    for f in concurrent.futures.as_completed([pool.submit(post, b) for b in bodies]):
        f.result()
with open(ids_file, "w") as f:
    f.write("\n".join(ids) + "\n")
print(f"posted {len(ids)} jobs, {len(refused)} refused" + (f" (first: {refused[0]})" if refused else ""))
