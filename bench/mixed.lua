-- wrk script: the mixed workload of bench/load.sh.
--   70 % search:  GET /v1/jobs/search with a Chinese query, a third with a filter
--   20 % reads:   GET /v1/jobs/{id} (ids from BENCH_JOB_IDS), one in five GET /v1/jobs?limit=20
--   10 % writes:  POST /v1/jobs, a valid posting
-- The key comes from BENCH_KEY. done() prints the non-2xx count and the share
-- of each kind actually sent.

local key = os.getenv("BENCH_KEY")
local ids = {}
for line in io.lines(os.getenv("BENCH_JOB_IDS")) do
  if #line > 0 then ids[#ids + 1] = line end
end

-- Percent-encoded queries (wrk sends the path as given).
local queries = {
  "%E6%99%AE%E5%B7%A5",                                     -- 普工
  "%E6%93%8D%E4%BD%9C%E5%B7%A5",                            -- 操作工 (synonym of 普工)
  "%E7%94%B5%E7%84%8A",                                     -- 电焊
  "%E7%84%8A%E5%B7%A5",                                     -- 焊工
  "%E7%94%B5%E5%AD%90%E5%8E%82",                            -- 电子厂
  "%E4%B8%9C%E8%8E%9E",                                     -- 东莞
  "%E7%BC%9D%E7%BA%AB%E5%B7%A5",                            -- 缝纫工
  "%E5%8F%89%E8%BD%A6%E5%8F%B8%E6%9C%BA",                   -- 叉车司机
  "%E5%8C%85%E5%90%83%E4%BD%8F",                            -- 包吃住
  "%E5%B8%AE%E6%89%B6%E8%BD%A6%E9%97%B4",                   -- 帮扶车间
  "%E5%8E%A8%E5%B8%88",                                     -- 厨师
  "%E4%BA%94%E9%99%A9%E4%B8%80%E9%87%91",                   -- 五险一金
  "%E7%94%B5%E5%AD%90%E5%8E%82%E6%99%AE%E5%B7%A5+%E4%B8%9C%E8%8E%9E", -- 电子厂普工 东莞
  "",                                                       -- newest first
}
local filters = { "", "", "&province_code=440000", "&county_code=522328", "&cross_province=true", "&min_wage=4000" }

local body = '{"title":"电子厂普工","description":"长白班，包吃住，五险一金，搬迁群众优先","occupation_code":"6-25-04-01",'
  .. '"skills":["电子元件装配","质检"],"work_county_code":"441900","wage_min":4500,"wage_max":6000,"openings":20,"contract_months":12}'

counts = { search = 0, read = 0, write = 0 } -- global: done() reads it from each thread
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  local r = math.random(100)
  local headers = { ["Authorization"] = "Bearer " .. key }
  if r <= 70 then
    counts.search = counts.search + 1
    local q = queries[math.random(#queries)]
    return wrk.format("GET", "/v1/jobs/search?q=" .. q .. filters[math.random(#filters)], headers)
  elseif r <= 90 then
    counts.read = counts.read + 1
    if r <= 86 then
      return wrk.format("GET", "/v1/jobs/" .. ids[math.random(#ids)], headers)
    end
    return wrk.format("GET", "/v1/jobs?limit=20", headers)
  else
    counts.write = counts.write + 1
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/v1/jobs", headers, body)
  end
end

function done(summary, latency, requests)
  local s, r, w = 0, 0, 0
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    s, r, w = s + c.search, r + c.read, w + c.write
  end
  local n = s + r + w
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("MIX search %.1f%% read %.1f%% write %.1f%% | non-2xx or errors %d\n",
    100 * s / n, 100 * r / n, 100 * w / n, bad))
  io.write(string.format("RESULT rps %.0f p50_ms %.2f p99_ms %.2f\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
