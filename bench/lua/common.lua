-- Shared by every wrk script: number the threads and print one JSON summary line that bench/harness.py reads.
threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local function counters()
   local out = {}
   for _, thread in ipairs(threads) do
      table.insert(out, string.format('{"sent":%d,"exhausted":%d,"fillers":%d}', thread:get("sent") or 0,
                                      thread:get("exhausted") or 0, thread:get("fillers") or 0))
   end
   return "[" .. table.concat(out, ",") .. "]"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH-JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"threads":%s}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.connect, e.read, e.write, e.status, e.timeout, counters()))
end
