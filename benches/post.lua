-- benches/post.lua: wrk script for one post by id, signed in.
-- Environment: BENCH_TOKEN (bearer token), BENCH_POST_ID (a post's GraphQL ID), both required.
local token = os.getenv("BENCH_TOKEN")
local post_id = os.getenv("BENCH_POST_ID")
if token == nil or token == "" then error("BENCH_TOKEN is not set") end
if post_id == nil or post_id == "" then error("BENCH_POST_ID is not set") end

local query = "query Post($id: ID!) { post(id: $id) { id title content likeCount likedByMe author { name } } }"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"query":"' .. query .. '","variables":{"id":"' .. post_id .. '"}}'
