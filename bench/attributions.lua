-- wrk script: POST /v1/attributions, each request a multipart upload of one of the files listed
-- (one path per line) in $FILES, in turn; $TOKEN is a publisher's bearer token. Counts the
-- answers by status and prints them when the run ends.
local boundary = "provenance-bench-boundary"
local threads = {}
local bodies = {}
local next_body = 0

function setup(thread)
  table.insert(threads, thread)
end

local function part(name, value)
  return "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name
    .. "\"\r\n\r\n" .. value .. "\r\n"
end

function init(args)
  created, unmatched, other = 0, 0, 0
  for path in io.lines(os.getenv("FILES")) do
    local file = assert(io.open(path, "rb"))
    local bytes = file:read("*a")
    file:close()
    bodies[#bodies + 1] = "--" .. boundary
      .. "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"upload.jpg\""
      .. "\r\nContent-Type: image/jpeg\r\n\r\n" .. bytes .. "\r\n"
      .. part("commercial", "false") .. part("adaptation", "verbatim")
      .. "--" .. boundary .. "--\r\n"
  end
  -- Threads start at different files so they do not upload the same one at the same time.
  next_body = math.random(#bodies)
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", "/v1/attributions", {
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, bodies[next_body])
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 422 then
    unmatched = unmatched + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, u, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    u = u + thread:get("unmatched")
    o = o + thread:get("other")
  end
  io.write(string.format("created %d unmatched %d other %d seconds %.2f p50_ms %.1f p99_ms %.1f\n",
    c, u, o, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
