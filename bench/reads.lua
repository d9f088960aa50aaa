-- wrk script: a mix of proof and tile reads over the first SIZE entries.
local size = tonumber(os.getenv("SIZE") or "1000")
local n = 0
request = function()
  n = n + 1
  local i = math.random(0, size - 1)
  if n % 2 == 0 then
    return wrk.format("GET", "/v1/log/proof/inclusion?index=" .. i)
  end
  local tile = math.floor(i / 256)
  if (tile + 1) * 256 <= size then
    return wrk.format("GET", string.format("/log/tile/0/%03d", tile % 1000))
  end
  return wrk.format("GET", "/log/checkpoint")
end
