import { useState } from 'react'
import type { FormEvent } from 'react'
import { Link, useParams } from 'react-router'
import { useMutation, useQuery, useSubscription } from 'urql'
import { describe } from '../api/errors'
import type { Problem } from '../api/errors'
import { CreateReplyMutation, PostQuery, ReplyAddedSubscription } from '../api/operations'
import { Alert, Field } from '../components/Field'
import { LikeButton } from '../components/PostCard'
import { when } from '../format'
import { useViewer } from '../session'

const noProblem: Problem = { message: '', fields: {} }

function ReplyForm({ postId }: { postId: string }) {
  const [content, setContent] = useState('')
  const [problem, setProblem] = useState(noProblem)
  const [{ fetching }, reply] = useMutation(CreateReplyMutation)
  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await reply({ postId, content })
    if (result.error) return setProblem(describe(result.error, { labels: { content: 'Reply' } }))
    setProblem(noProblem)
    setContent('')
  }
  return (
    <form className="reply-form" onSubmit={submit} noValidate>
      <Field label="Reply" value={content} onChange={setContent} multiline rows={3} error={problem.fields.content} />
      <Alert message={problem.message} />
      <button type="submit" disabled={fetching}>
        Send reply
      </button>
    </form>
  )
}

/** One post with its replies, which arrive live while the page is open. */
export function PostPage() {
  const { id = '' } = useParams()
  const { viewer } = useViewer()
  const [{ data, fetching, error }] = useQuery({ query: PostQuery, variables: { id, first: 50 } })
  // A reply from anyone else lands in the cache (see the client's updates).
  useSubscription({ query: ReplyAddedSubscription, variables: { postId: id } })
  const post = data?.post

  if (error) return <Alert message={describe(error).message} />
  if (!post) return fetching ? <p className="loading">Loading…</p> : <p className="card">This post does not exist, or is no longer here.</p>
  const headingId = `post-${post.id}-title`
  return (
    <>
      <article className="card post" aria-labelledby={headingId}>
        <h1 id={headingId}>{post.title}</h1>
        <p className="meta">
          {post.author.name ?? 'Someone'} · <time dateTime={post.createdAt}>{when(post.createdAt)}</time>
        </p>
        <p className="content">{post.content}</p>
        <footer className="post-actions">
          <LikeButton post={post} signedIn={Boolean(viewer)} />
        </footer>
      </article>
      <section className="card" aria-labelledby="replies-heading">
        <h2 id="replies-heading">Replies ({post.replyCount})</h2>
        <ol className="replies" aria-label="Replies">
          {post.replies.edges.map(({ node }) => (
            <li key={node.id} className="reply">
              <p className="meta">
                {node.author.name ?? 'Someone'} · <time dateTime={node.createdAt}>{when(node.createdAt)}</time>
              </p>
              <p>{node.content}</p>
            </li>
          ))}
        </ol>
        {post.replies.edges.length === 0 && <p className="hint">No replies yet.</p>}
        {viewer ? (
          <ReplyForm postId={post.id} />
        ) : (
          <p>
            <Link to="/sign-in">Sign in</Link> to reply.
          </p>
        )}
      </section>
    </>
  )
}
