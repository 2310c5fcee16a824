-- wrk script: POST /v1/jobs with a valid posting (the key comes from the environment).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
wrk.body = '{"title":"电子厂普工","description":"长白班，包吃住，五险一金，搬迁群众优先","occupation_code":"6-25-04-01","skills":["电子元件装配","质检"],"work_county_code":"441900","wage_min":4500,"wage_max":6000,"openings":20,"contract_months":12}'
