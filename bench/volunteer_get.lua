-- wrk script: an administrator reads PATH_SUFFIX ("totals" or "star") of random bench
-- volunteers. Run in the folder `zhiyuan-bench prepare` wrote (numbers.txt, admin.txt).
local numbers = {}
for line in io.lines("numbers.txt") do numbers[#numbers + 1] = line end
local token = io.open("admin.txt"):read("*l")
local suffix = os.getenv("PATH_SUFFIX") or "totals"
math.randomseed(os.time())

request = function()
  local n = numbers[math.random(#numbers)]
  return wrk.format("GET", "/api/v1/volunteers/" .. n .. "/" .. suffix,
    { ["Authorization"] = "Bearer " .. token })
end
