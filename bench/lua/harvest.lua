-- Visit the survey form like new citizens do and keep, per visit, the session cookie and the form's hidden
-- fields (CSRF token, submission key, signed start time): one line per visit in <prefix>_<thread>.tsv.
-- Arguments: <prefix> <visits per thread>. A thread stops once it has its share.
dofile("common.lua")

local out, quota, got = nil, 0, 0

function init(args)
   quota = tonumber(args[2])
   out = io.open(args[1] .. "_" .. wrk.thread:get("id") .. ".tsv", "w")
end

function response(status, headers, body)
   if status ~= 200 or got >= quota then
      return
   end
   local cookie = (headers["Set-Cookie"] or ""):match("^(session=[^;]+)")
   local csrf = body:match('name="csrf_token" value="([^"]+)"')
   local key = body:match('name="k" value="([^"]+)"')
   local start = body:match('name="t" value="([^"]+)"')
   if cookie and csrf and key and start then
      out:write(cookie, "\t", csrf, "\t", key, "\t", start, "\n")
      got = got + 1
      if got >= quota then
         out:close()
         wrk.thread:stop()
      end
   end
end
