import { useEffect, useRef, useState } from 'react'
import type { FormEvent } from 'react'
import { Link, useLocation } from 'react-router'
import { useMutation, useQuery } from 'urql'
import { describe } from '../api/errors'
import type { Problem } from '../api/errors'
import { CreatePostMutation, FeedQuery } from '../api/operations'
import { Alert, Field, Notice } from '../components/Field'
import { PostCard } from '../components/PostCard'
import { useViewer } from '../session'

/** Posts per page of the feed. */
const PAGE_SIZE = 10
const noProblem: Problem = { message: '', fields: {} }

/** Write and publish a post. */
function Composer({ onPublished }: { onPublished: () => void }) {
  const [title, setTitle] = useState('')
  const [content, setContent] = useState('')
  const [problem, setProblem] = useState(noProblem)
  const [published, setPublished] = useState('')
  const [{ fetching }, create] = useMutation(CreatePostMutation)

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await create({ input: { title, content, status: 'PUBLISHED' } })
    if (result.error) {
      setPublished('')
      return setProblem(describe(result.error, { labels: { title: 'Title', content: 'Content' } }))
    }
    setProblem(noProblem)
    setPublished(`Published “${result.data?.createPost.title}”.`)
    setTitle('')
    setContent('')
    onPublished()
  }

  return (
    <form className="card composer" onSubmit={submit} noValidate aria-label="New post">
      <h2>What did you learn today?</h2>
      <Field label="Title" value={title} onChange={setTitle} error={problem.fields.title} />
      <Field label="Content" value={content} onChange={setContent} multiline error={problem.fields.content} />
      <Alert message={problem.message} />
      <Notice message={published} />
      <button type="submit" disabled={fetching}>
        Publish
      </button>
    </form>
  )
}

/** Every published post, newest first, loading older pages as the reader scrolls. */
export function FeedPage() {
  const { viewer } = useViewer()
  const location = useLocation()
  const notice = (location.state as { notice?: string } | null)?.notice
  const [after, setAfter] = useState<string | null>(null)
  const [{ data, fetching, error }] = useQuery({ query: FeedQuery, variables: { first: PAGE_SIZE, after } })
  const page = data?.feed
  const sentinel = useRef<HTMLDivElement>(null)

  // Infinite scroll: when the end of the list comes into view, ask for the
  // page after the last cursor; the cache appends it (Relay pagination).
  useEffect(() => {
    const target = sentinel.current
    if (!target || !page?.pageInfo.hasNextPage || fetching) return
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) setAfter(page.pageInfo.endCursor ?? null)
    })
    observer.observe(target)
    return () => observer.disconnect()
  }, [page, fetching])

  return (
    <>
      <Notice message={notice} />
      {viewer ? (
        <Composer onPublished={() => setAfter(null)} />
      ) : (
        <p className="card">
          <Link to="/sign-in">Sign in</Link> or <Link to="/sign-up">create an account</Link> to write, like and reply.
        </p>
      )}
      <section aria-label="Feed" className="feed">
        {error && <Alert message={describe(error).message} />}
        {page?.edges.map(({ node }) => <PostCard key={node.id} post={node} signedIn={Boolean(viewer)} />)}
        {page && page.edges.length === 0 && <p className="card">Nothing here yet. Be the first to write.</p>}
        <div ref={sentinel} className="sentinel" aria-hidden="true" />
        {fetching && <p className="loading">Loading posts…</p>}
        {page && !page.pageInfo.hasNextPage && page.edges.length > 0 && <p className="end">You have reached the first post.</p>}
      </section>
    </>
  )
}
