-- POST one prepared submission per request: each line of <prefix>_<thread>.tsv is "cookie<TAB>urlencoded body"
-- with its own CSRF token and submission key, so every request is a new citizen's response (never a replay).
-- Argument: <prefix>. A thread that runs out of lines stops and says so ("exhausted"): the run is then void.
dofile("common.lua")

local lines, sent = {}, 0

function init(args)
   for line in io.lines(args[1] .. "_" .. wrk.thread:get("id") .. ".tsv") do
      local cookie, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(lines, {cookie, body})
   end
   wrk.thread:set("sent", 0)
   wrk.thread:set("exhausted", 0)
end

function request()
   sent = sent + 1
   local line = lines[sent]
   if line == nil then
      wrk.thread:set("exhausted", 1)
      wrk.thread:stop()
      line = lines[#lines]
   end
   wrk.thread:set("sent", sent)
   return wrk.format("POST", nil, {["Cookie"] = line[1],
                                   ["Content-Type"] = "application/x-www-form-urlencoded"}, line[2])
end
