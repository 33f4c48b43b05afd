-- wrk script for tools/bench/serve_load.sh: POST /v1/quality with JPEG bodies, cycling
-- through the files given after `--`; prints one RESULT line (req/s, p50 ms, p99 ms, errors).
local bodies = {}
local n = 0

function init(args)
  for _, path in ipairs(args) do
    local f = assert(io.open(path, "rb"))
    bodies[#bodies + 1] = f:read("*a")
    f:close()
  end
end

function request()
  n = n % #bodies + 1
  return wrk.format("POST", "/v1/quality", {["Content-Type"] = "image/jpeg"}, bodies[n])
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
                 summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
