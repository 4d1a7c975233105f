-- wrk script: POST the body file to the hook; optionally a fresh JWT per request from a token file.
-- Prints latency percentiles (microseconds) and throughput as JSON at the end.
local body_file = os.getenv("BENCH_BODY")
local token_file = os.getenv("BENCH_TOKENS")
local path = os.getenv("BENCH_PATH") or "/cds-services/osteoporosis-management"

local f = assert(io.open(body_file, "rb"))
local body = f:read("*all")
f:close()

local tokens = {}
if token_file and token_file ~= "" then
  for line in io.lines(token_file) do tokens[#tokens + 1] = line end
end

local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  statuses = {}
end

function request()
  counter = counter + 1
  local headers = { ["Content-Type"] = "application/json" }
  if #tokens > 0 then
    -- threads interleave through the list so no token is used twice
    local index = ((counter - 1) * thread_count() + id) % #tokens + 1
    headers["Authorization"] = "Bearer " .. tokens[index]
  end
  return wrk.format("POST", path, headers, body)
end

function thread_count()
  return tonumber(os.getenv("BENCH_THREADS") or "1")
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, n in pairs(s) do
      if status ~= 200 then bad = bad + n end
    end
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non_200": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    bad, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
