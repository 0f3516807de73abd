-- Loaded by bench/lib/wrk.ts: prints the run's totals as one JSON line, with the CPU time wrk
-- itself used (all threads), so the report can show the load generator's cost.

local function cpu_ticks()
  local file = io.open("/proc/self/stat")
  if not file then return -1 end
  local stat = file:read("*a")
  file:close()
  -- Fields after the command name in parentheses: state is field 3, utime 14, stime 15.
  local fields = {}
  for value in stat:match("%) (.*)"):gmatch("%S+") do fields[#fields + 1] = value end
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '\nWRK_JSON {"requests":%d,"bytes":%d,"durationUs":%d,"connectErrors":%d,' ..
    '"readErrors":%d,"writeErrors":%d,"statusErrors":%d,"timeouts":%d,' ..
    '"latencyP50Us":%d,"latencyP99Us":%d,"cpuTicks":%d}\n',
    summary.requests, summary.bytes, summary.duration, errors.connect, errors.read,
    errors.write, errors.status, errors.timeout, latency:percentile(50),
    latency:percentile(99), cpu_ticks()))
end
