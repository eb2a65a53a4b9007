-- wrk script: POST one body file with a Content-Type and an Accept, then print a JSON summary.
-- usage: wrk ... -s post.lua URL -- BODY_FILE CONTENT_TYPE ACCEPT
local request_bytes

function init(args)
  local handle = assert(io.open(args[1], "rb"))
  local body = handle:read("*a")
  handle:close()
  local headers = { ["Content-Type"] = args[2], ["Accept"] = args[3] }
  request_bytes = wrk.format("POST", nil, headers, body)
end

function request()
  return request_bytes
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "non2xx": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.status, errors.connect, errors.read,
    errors.write, errors.timeout))
end
