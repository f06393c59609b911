-- POST one prepared request per line of <prefix>_<thread>.tsv: "path<TAB>cookie<TAB>urlencoded body". Each line
-- carries its own tokens (a new citizen's response, a participant's attempt), so no request is a replay.
-- Argument: <prefix>. A thread that has sent all its lines stops and says so ("exhausted"): the end of a surge,
-- or, for a timed run, a sign that too few lines were prepared.
dofile("common.lua")

local lines, sent = {}, 0

function init(args)
   for line in io.lines(args[1] .. "_" .. wrk.thread:get("id") .. ".tsv") do
      local path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      table.insert(lines, {path, cookie, body})
   end
   wrk.thread:set("sent", 0)
   wrk.thread:set("exhausted", 0)
end

function request()
   local line = lines[sent + 1]
   if line == nil then
      wrk.thread:set("exhausted", 1)
      wrk.thread:stop()
      return ""
   end
   sent = sent + 1
   wrk.thread:set("sent", sent)
   return wrk.format("POST", line[1], {["Cookie"] = line[2],
                                       ["Content-Type"] = "application/x-www-form-urlencoded"}, line[3])
end
