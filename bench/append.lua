-- wrk script: POST operator notes, each with a distinct text.
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"text":"load test note %d-%d"}', math.random(1, 1e9), counter)
  return wrk.format("POST", "/v1/log/entries", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, body)
end
