-- wrk script for the HTTP benchmarks (bench/wsi_tile_bench.py): each connection cycles through
-- the request paths of PATHS_FILE (one per line) from a random start, with the headers of
-- HDR_FILE ("Name: value" lines), and prints one RESULT line at the end.
local paths = {}
local counter = 0

init = function(args)
  for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
  local h = os.getenv("HDR_FILE")
  if h and h ~= "" then
    for line in io.lines(h) do
      local k, v = line:match("^([^:]+):%s*(.*)$")
      if k then wrk.headers[k] = v end
    end
  end
  counter = math.random(#paths)
end

request = function()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d seconds=%.3f\n",
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), summary.duration / 1e6))
end
