-- wrk script: POST the body file to the hook; optionally a fresh JWT per request from a token file.
-- BENCH_TOKEN_OFFSET skips the tokens earlier rounds used (each is accepted once). Prints latency percentiles
-- (microseconds), throughput, non-200 answers and how many tokens were used, as one JSON line at the end.
local body_file = os.getenv("BENCH_BODY")
local token_file = os.getenv("BENCH_TOKENS")
local path = os.getenv("BENCH_PATH") or "/cds-services/osteoporosis-management"
local offset = tonumber(os.getenv("BENCH_TOKEN_OFFSET") or "0")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")

local f = assert(io.open(body_file, "rb"))
local body = f:read("*all")
f:close()

local tokens = {}
if token_file and token_file ~= "" then
  for line in io.lines(token_file) do tokens[#tokens + 1] = line end
end

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
    -- threads interleave through the list so no token is used twice; past its end they wrap (and are refused)
    local index = (offset + (counter - 1) * thread_count + id) % #tokens + 1
    headers["Authorization"] = "Bearer " .. tokens[index]
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local bad = 0
  local used = 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, n in pairs(s) do
      if status ~= 200 then bad = bad + n end
    end
    local n = thread:get("counter")
    if n > 0 then
      used = math.max(used, (n - 1) * thread_count + thread:get("id") + 1)
    end
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "errors": %d, "non_200": %d, "tokens_used": %d, "tokens_available": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    bad, used, #tokens - offset, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
