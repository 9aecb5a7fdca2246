-- wrk script: every request signs a distinct (volunteer, shift) pair up; requests in
-- flight together are for distinct shifts and distinct volunteers.
-- Run in the folder `zhiyuan-bench prepare` wrote (tokens.txt, shifts.txt).
-- START (environment): the first pair to use, so that repeated runs use fresh pairs.
local tokens, shifts = {}, {}
for line in io.lines("tokens.txt") do tokens[#tokens + 1] = line:match("%S+ (%S+)") end
for line in io.lines("shifts.txt") do shifts[#shifts + 1] = line end
local i = tonumber(os.getenv("START") or "0")

request = function()
  local v = (i % #tokens) + 1
  -- Pair i and pair i + k*#tokens differ by k*(#tokens + 1) in shift: distinct
  -- for k < #shifts when #shifts divides #tokens (1,000 and 20,000 by default).
  local s = ((i + math.floor(i / #tokens)) % #shifts) + 1
  i = i + 1
  return wrk.format("POST", "/api/v1/shifts/" .. shifts[s] .. "/signups",
    { ["Authorization"] = "Bearer " .. tokens[v] })
end
