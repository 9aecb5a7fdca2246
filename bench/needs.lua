-- wrk script: the public submits needs (POST /api/v1/needs) in the demo village, each
-- with a fresh Idempotency-Key when KEYED=1, to measure what keeping answers costs.
-- VILLAGE (environment): the village's region code (`GET /api/v1/regions?level=village`).
local keyed = os.getenv("KEYED") == "1"
local body = string.format(
  '{"service_code": "elderly-visit", "description": "母亲独居，希望每周有人探访", ' ..
  '"region": "%s", "contact_name": "王女士", "contact_phone": "13700137000"}',
  os.getenv("VILLAGE"))
local threads, n = 0, 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

request = function()
  n = n + 1
  local headers = { ["Content-Type"] = "application/json" }
  if keyed then
    headers["Idempotency-Key"] = string.format("%d-%d-%d", id, n, os.time())
  end
  return wrk.format("POST", "/api/v1/needs", headers, body)
end
