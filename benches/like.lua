-- benches/like.lua: wrk script for the likePost mutation, signed in. likePost is
-- idempotent, so every request after the first likes an already liked post: the
-- write path runs (transaction, INSERT ... ON CONFLICT DO NOTHING) but adds no rows.
-- Environment: BENCH_TOKEN (bearer token), BENCH_POST_ID (a post's GraphQL ID), both required.
local token = os.getenv("BENCH_TOKEN")
local post_id = os.getenv("BENCH_POST_ID")
if token == nil or token == "" then error("BENCH_TOKEN is not set") end
if post_id == nil or post_id == "" then error("BENCH_POST_ID is not set") end

local query = "mutation Like($id: ID!) { likePost(postId: $id) { likeCount } }"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"query":"' .. query .. '","variables":{"id":"' .. post_id .. '"}}'
