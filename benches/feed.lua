-- benches/feed.lua: wrk script for the signed-in feed page (50 posts with author,
-- counts, likedByMe and the first 3 replies with their authors).
-- Environment: BENCH_TOKEN (bearer token, required); BENCH_AFTER (optional keyset
-- cursor: when set, the page after it is loaded, to compare a deep page with page 1).
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then error("BENCH_TOKEN is not set") end
local after = os.getenv("BENCH_AFTER")
local after_json = "null"
if after ~= nil and after ~= "" then after_json = '"' .. after .. '"' end

local query = "query Feed($after: String) { feed(first: 50, after: $after) { edges { node { "
  .. "id title author { id name } likeCount likedByMe replyCount "
  .. "replies(first: 3) { edges { node { id content author { id name } } } } } } } }"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"query":"' .. query .. '","variables":{"after":' .. after_json .. '}}'
