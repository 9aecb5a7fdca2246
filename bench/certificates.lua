-- wrk script: random issued certificates, verified (MODE=verify, public) or downloaded as
-- PDF by an administrator (MODE=pdf). Run in the folder `zhiyuan-bench prepare` wrote.
local numbers = {}
for line in io.lines("certificates.txt") do numbers[#numbers + 1] = line end
local token = io.open("admin.txt"):read("*l")
local mode = os.getenv("MODE") or "verify"
math.randomseed(os.time())

request = function()
  local n = numbers[math.random(#numbers)]
  if mode == "pdf" then
    return wrk.format("GET", "/api/v1/certificates/" .. n .. "/pdf",
      { ["Authorization"] = "Bearer " .. token })
  end
  return wrk.format("GET", "/api/v1/certificates/" .. n .. "/verification")
end
