-- wrk script: authenticated GET of random volunteers.
-- numbers.txt (in the working directory): one volunteer number per line.
-- TOKEN (environment): a bearer token, e.g. of a province admin.
local numbers = {}
for line in io.lines("numbers.txt") do numbers[#numbers + 1] = line end
local token = os.getenv("TOKEN")
math.randomseed(os.time())

request = function()
  local n = numbers[math.random(#numbers)]
  return wrk.format("GET", "/api/v1/volunteers/" .. n, { ["Authorization"] = "Bearer " .. token })
end
