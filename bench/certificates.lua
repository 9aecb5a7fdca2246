-- wrk script: random issued certificates, verified (MODE=verify, public) or downloaded as
-- PDF by an administrator (MODE=pdf; PDF_LANG=zh-HK or en for the other languages). Run
-- in the folder `zhiyuan-bench prepare` wrote.
local numbers = {}
for line in io.lines("certificates.txt") do numbers[#numbers + 1] = line end
local token = io.open("admin.txt"):read("*l")
local mode = os.getenv("MODE") or "verify"
local pdf_lang = os.getenv("PDF_LANG")
local pdf_query = pdf_lang and ("?lang=" .. pdf_lang) or ""
math.randomseed(os.time())

request = function()
  local n = numbers[math.random(#numbers)]
  if mode == "pdf" then
    return wrk.format("GET", "/api/v1/certificates/" .. n .. "/pdf" .. pdf_query,
      { ["Authorization"] = "Bearer " .. token })
  end
  return wrk.format("GET", "/api/v1/certificates/" .. n .. "/verification")
end
