-- benches/postgraphile5.lua: wrk script for PostGraphile v5's equivalent of the feed page
-- (issue 23): the query of postgraphile.lua in v5's amber naming, where the uuid column is
-- `rowId` (`id` is the Node ID) and posts are ordered by (created_at, id) descending as ours.
-- Environment: BENCH_VIEWER (the viewer's user id, required).
local viewer = os.getenv("BENCH_VIEWER")
if viewer == nil or viewer == "" then error("BENCH_VIEWER is not set") end

local query = "query Feed($viewer: UUID!) { allPosts(first: 50, orderBy: [CREATED_AT_DESC, ROW_ID_DESC], "
  .. "condition: {status: PUBLISHED, deletedAt: null}) { nodes { rowId title userByAuthorId { rowId name } "
  .. "likeCount myLikes: likesByPostId(condition: {userId: $viewer}) { totalCount } replyCount "
  .. "repliesByPostId(first: 3, orderBy: [CREATED_AT_ASC, ROW_ID_ASC], condition: {deletedAt: null}) { "
  .. "nodes { rowId content userByAuthorId { rowId name } } } } } }"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"query":"' .. query .. '","variables":{"viewer":"' .. viewer .. '"}}'
