-- SPDX-License-Identifier: ISC
-- wrk script for the benchmark: POST one JSON body read from a file and,
-- at the end, print one line "WRKJSON {...}" with the counts and latency
-- percentiles (microseconds) for bench/run.py.
--
--   wrk -s post.lua URL -- BODY_FILE

function init(args)
	local f = assert(io.open(args[1], "rb"))
	wrk.method = "POST"
	wrk.body = f:read("*a")
	f:close()
	wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
		'"errors_connect": %d, "errors_read": %d, "errors_write": %d, ' ..
		'"errors_status": %d, "errors_timeout": %d, "p50_us": %d, ' ..
		'"p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
		summary.requests, summary.duration, summary.bytes,
		e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.mean, latency.max))
end
