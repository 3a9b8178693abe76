-- wrk script for `make bench`: POSTs the file named by BENCH_BODY as JSON,
-- and prints one line of figures the benchmark reads (times in µs).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local body = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = body:read("*a")
body:close()

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "bench-figures requests=%d duration=%d p50=%.1f p99=%.1f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
