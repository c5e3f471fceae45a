-- wrk script for `npm run bench`: POSTs pre-signed Stripe webhooks read from a file (one
-- "signature<TAB>body" per line). Each thread takes every n-th line so threads send distinct
-- events, and cycles through its share. done() prints one machine-readable line.
-- usage: wrk -t T -c C -d Ds -s webhooks.lua URL -- FILE T

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local count = tonumber(args[2])
  requests = {}
  local line_number = 0
  for line in io.lines(file) do
    if line_number % count == thread_index then
      local tab = line:find("\t", 1, true)
      local headers = {}
      headers["Content-Type"] = "application/json"
      headers["Stripe-Signature"] = line:sub(1, tab - 1)
      requests[#requests + 1] = wrk.format("POST", "/webhooks/stripe", headers, line:sub(tab + 1))
    end
    line_number = line_number + 1
  end
  position = 0
end

function request()
  position = position + 1
  if position > #requests then
    position = 1
  end
  return requests[position]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_JSON {\"requests\":%d,\"duration_us\":%d,\"connect_errors\":%d,\"read_errors\":%d," ..
      "\"write_errors\":%d,\"status_errors\":%d,\"timeouts\":%d,\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d}\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
