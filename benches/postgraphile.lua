-- benches/postgraphile.lua: wrk script for PostGraphile v4's equivalent of the feed page
-- (issue 11): 50 published posts newest first, each with author, like count, whether the
-- viewer likes it, reply count and the first 3 replies with their authors.
-- Environment: BENCH_VIEWER (the viewer's user id, required).
local viewer = os.getenv("BENCH_VIEWER")
if viewer == nil or viewer == "" then error("BENCH_VIEWER is not set") end

local query = "query Feed($viewer: UUID!) { allPosts(first: 50, orderBy: [CREATED_AT_DESC, ID_DESC], "
  .. "condition: {status: PUBLISHED, deletedAt: null}) { nodes { id title userByAuthorId { id name } "
  .. "likeCount myLikes: likesByPostId(condition: {userId: $viewer}) { totalCount } replyCount "
  .. "repliesByPostId(first: 3, orderBy: [CREATED_AT_ASC, ID_ASC], condition: {deletedAt: null}) { "
  .. "nodes { id content userByAuthorId { id name } } } } } }"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"' .. query .. '","variables":{"viewer":"' .. viewer .. '"}}'
