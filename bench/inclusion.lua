-- wrk script: inclusion proofs for random leaves of a log of SIZE leaves (public API).
-- SIZE=10000000 wrk -t1 -c8 -d20s --latency -s bench/inclusion.lua http://127.0.0.1:8080
local size = tonumber(os.getenv("SIZE") or "10000000")
math.randomseed(os.time())

request = function()
  local index = math.random(0, size - 1)
  return wrk.format("GET", "/api/v1/ledger/inclusion?index=" .. index .. "&size=" .. size)
end
