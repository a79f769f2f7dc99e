-- wrk script for the redirect benchmark: GET /b<i> with i uniformly random in [1, N], or every link in turn.
--
--   N=100000 wrk -t2 -c64 -d20s --latency -s bench/redirect.lua http://127.0.0.1:5080
--   wrk -t2 -c64 -d20s --latency -s bench/redirect.lua http://127.0.0.1:5080 -- 100000
--   wrk -t2 -c64 -d20s --latency -s bench/redirect.lua http://127.0.0.1:5080 -- 100000 turn
--
-- N comes from the first script argument, else the environment variable N, else 100000. Slugs are drawn
-- with replacement, so a run of R requests touches about N * (1 - exp(-R/N)) distinct links. With "turn" as the
-- second argument each link is requested in turn (thread t of T = $THREADS takes t, t + T, t + 2T, ...), the send-time
-- workload: every recipient's own link, clicked once before any is clicked again.
-- At the end it prints one machine-readable line:
--   RESULT requests=.. seconds=.. rps=.. p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=.. non3xx=.. socket_errors=..

local threads = {}
local counter = 1

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

function init(args)
   n = tonumber(args[1]) or tonumber(os.getenv("N")) or 100000
   -- A distinct sequence per thread; wrk's Lua states are separate per thread.
   math.randomseed(os.time() * 1000 + id * 7919)
   non3xx = 0
   turn = args[2] == "turn"
   -- Each thread has its own Lua state and does not see the others: the count comes from the environment.
   threads_total = tonumber(os.getenv("THREADS")) or 2
   step = 0
end

function request()
   if turn then
      local i = (step * threads_total + id - 1) % n + 1
      step = step + 1
      return wrk.format("GET", "/b" .. i)
   end
   return wrk.format("GET", "/b" .. math.random(1, n))
end

function response(status, headers, body)
   if status < 300 or status >= 400 then
      non3xx = non3xx + 1
   end
end

function done(summary, latency, requests)
   local bad = 0
   for _, thread in ipairs(threads) do
      bad = bad + (thread:get("non3xx") or 0)
   end
   local seconds = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d seconds=%.2f rps=%.0f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d non3xx=%d socket_errors=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
      bad, e.connect + e.read + e.write + e.timeout + e.status))
end
