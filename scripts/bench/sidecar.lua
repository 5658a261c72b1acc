-- SPDX-License-Identifier: Apache-2.0
-- This source file is part of the Keybound open source project.
--
-- wrk script of scripts/bench/sidecar-load.sh: every request carries its own pre-made DPoP proof.
--   KB_REQUESTS  the request files' prefix: thread N reads KB_REQUESTS.N ("token<TAB>proof" a line, made by
--                sidecar_requests.py; a FIFO works too), one line per request, never one twice
--   KB_MODE      "direct": to keybound-serve, with the X-Original-Method and X-Original-URI that nginx would add;
--                "nginx": to nginx, which adds them
--   KB_PATH      the request's path (its URL is the proofs' htu)
--   KB_DELAY_MS  optional: each connection waits this long between requests (the soak's fixed rate)
--   KB_PIPELINE  optional: requests written back to back per write, HTTP/1.1 pipelining (1 unless set); wrk reads the
--                depth from the first batch, which it does not send, and expects that many answers per write
-- When a thread runs out of requests it stops. At the end one line "KB_RESULT {...}" gives the counts (every status
-- outside 2xx counts as bad) and the latency percentiles in microseconds.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  file = assert(io.open(os.getenv("KB_REQUESTS") .. "." .. id, "r"))
  path = os.getenv("KB_PATH") or "/api/x"
  direct = os.getenv("KB_MODE") == "direct"
  wait = tonumber(os.getenv("KB_DELAY_MS") or "0")
  depth = tonumber(os.getenv("KB_PIPELINE") or "1")
  bad = 0
  ok = 0
  exhausted = 0
end

-- The next pre-made request, or nil when there are no more.
local function next_request()
  local line = file:read("*l")
  if not line then return nil end
  local tab = line:find("\t", 1, true)
  local headers = { ["Authorization"] = "DPoP " .. line:sub(1, tab - 1), ["DPoP"] = line:sub(tab + 1) }
  if direct then
    headers["X-Original-Method"] = "GET"
    headers["X-Original-URI"] = path
  end
  return wrk.format("GET", path, headers)
end

function request()
  local batch = {}
  for _ = 1, depth do
    local one = next_request()
    if not one then
      exhausted = 1
      wrk.thread:stop()
      return wrk.format("GET", path)
    end
    batch[#batch + 1] = one
  end
  return table.concat(batch)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function delay()
  return wait
end

function done(summary, latency, requests)
  local bad_total, ok_total, exhausted_total = 0, 0, 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    ok_total = ok_total + thread:get("ok")
    exhausted_total = exhausted_total + thread:get("exhausted")
  end
  local e = summary.errors
  io.write(string.format(
    'KB_RESULT {"requests":%d,"ok":%d,"bad":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,' ..
    '"threads_out_of_requests":%d}\n',
    summary.requests, ok_total, bad_total, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, exhausted_total))
end
