-- wrk script for tools/bench/serve_load.sh: POST /v1/quality with JPEG bodies, cycling
-- through the files given after `--`; prints one RESULT line (req/s, p50 ms, p99 ms, errors).
-- SOAK_BAD_EVERY=N (environment): every N-th body is a truncated JPEG (the per-image error
-- path: answered 200 with that image's error).
local bodies = {}
local n = 0
local sent = 0
local bad_every = tonumber(os.getenv("SOAK_BAD_EVERY") or "0")

function init(args)
  for _, path in ipairs(args) do
    local f = assert(io.open(path, "rb"))
    bodies[#bodies + 1] = f:read("*a")
    f:close()
  end
end

function request()
  n = n % #bodies + 1
  sent = sent + 1
  local body = bodies[n]
  if bad_every > 0 and sent % bad_every == 0 then body = body:sub(1, math.floor(#body / 3)) end
  return wrk.format("POST", "/v1/quality", {["Content-Type"] = "image/jpeg"}, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read +
                 summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
                         latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
