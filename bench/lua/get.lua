-- Plain GET of the URL given to wrk (no per-response work in wrk, so it takes as little CPU as possible).
dofile("common.lua")
