-- wrk script: GET with the key from the environment.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
