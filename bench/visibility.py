#!/usr/bin/env python3
"""Search visibility (issue #4): how long after POST /v1/jobs answers does the
job appear in GET /v1/jobs/search? Posts N jobs one by one with a unique
word and polls the search until it is there. Usage:
  visibility.py BASE_URL KEY [N]"""
import json, statistics, sys, time, urllib.parse, urllib.request

base, key = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
hdr = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

def call(method, path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, headers=hdr, method=method)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())

lat = []
for i in range(n):
    word = f"验证{i:05d}号"
    job = call("POST", "/v1/jobs", {"title": f"普工{word}", "description": "可见性测试", "work_county_code": "522328",
                                    "wage_min": 3000, "wage_max": 4000, "openings": 1})
    t0 = time.monotonic()
    while True:
        hits = call("GET", "/v1/jobs/search?" + urllib.parse.urlencode({"q": word}))["hits"]
        if any(h["job"]["id"] == job["id"] for h in hits):
            lat.append((time.monotonic() - t0) * 1000)
            break
        if time.monotonic() - t0 > 10:
            lat.append(10_000.0)
            break
        time.sleep(0.01)
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(round((len(lat) - 1) * q)))]
print(f"visibility of {n} jobs in search after POST answered: p50 {p(0.5):.0f} ms, p99 {p(0.99):.0f} ms, max {lat[-1]:.0f} ms")
