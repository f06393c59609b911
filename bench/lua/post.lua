-- POST one prepared request per line of <prefix>_<thread>.tsv: "path<TAB>cookie<TAB>urlencoded body". Each line
-- carries its own tokens (a new citizen's response, a participant's attempt), so no request is a replay.
-- Argument: <prefix>.
--
-- A thread that has sent all its lines is "exhausted": the end of a surge, or, for a timed run, a sign that too
-- few lines were prepared. It must not leave a connected socket silent (a sync gunicorn worker that accepted it
-- would wait for a request that never comes), so each connection that asks for more gets a filler GET /healthz,
-- answered at once and counted apart ("fillers": the only 200s; every real POST answers 303 or an error). Once all
-- its real requests are answered the thread stops. wrk calls request() of thread 0 once before the run to check
-- the script (that request is never sent): thread 0 answers that call with a filler, so no line is lost.
dofile("common.lua")

local lines, sent, answered, fillers, done, checking = {}, 0, 0, 0, false, false

function init(args)
   for line in io.lines(args[1] .. "_" .. wrk.thread:get("id") .. ".tsv") do
      local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      table.insert(lines, {path, cookie, body})
   end
   wrk.thread:set("sent", 0)
   wrk.thread:set("exhausted", 0)
   wrk.thread:set("fillers", 0)
   checking = wrk.thread:get("id") == 0
end

function request()
   if checking then
      checking = false
      return wrk.format("GET", "/healthz")
   end
   local line = lines[sent + 1]
   if line == nil then
      wrk.thread:set("exhausted", 1)
      return wrk.format("GET", "/healthz")
   end
   sent = sent + 1
   wrk.thread:set("sent", sent)
   return wrk.format("POST", line[1], {["Cookie"] = line[2],
                                       ["Content-Type"] = "application/x-www-form-urlencoded"}, line[3])
end

function response(status, headers, body)
   if status == 200 then
      fillers = fillers + 1
      wrk.thread:set("fillers", fillers)
   else
      answered = answered + 1
   end
   if answered == #lines and not done then
      done = true
      wrk.thread:stop()
   end
end
