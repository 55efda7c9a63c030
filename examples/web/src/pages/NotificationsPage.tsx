import { useEffect, useRef } from 'react'
import { Link } from 'react-router'
import { useMutation, useQuery } from 'urql'
import { describe } from '../api/errors'
import { MarkNotificationsReadMutation, NotificationsQuery } from '../api/operations'
import { Alert } from '../components/Field'
import { when } from '../format'

/** The viewer's notifications, newest first; opening the list marks them read. */
export function NotificationsPage() {
  const [{ data, fetching, error }] = useQuery({ query: NotificationsQuery, variables: { first: 50 } })
  const [, markRead] = useMutation(MarkNotificationsReadMutation)
  const marked = useRef<string | null>(null)
  const edges = data?.notifications.edges ?? []
  const newestId = edges[0]?.node.id
  const anyUnread = edges.some(({ node }) => !node.read)

  // Up to the newest one shown, so that one arriving meanwhile stays unread.
  useEffect(() => {
    if (newestId && anyUnread && marked.current !== newestId) {
      marked.current = newestId
      void markRead({ upTo: newestId })
    }
  }, [newestId, anyUnread, markRead])

  if (error) return <Alert message={describe(error).message} />
  return (
    <section className="card" aria-labelledby="notifications-heading">
      <h1 id="notifications-heading">Notifications</h1>
      {fetching && !data && <p className="loading">Loading…</p>}
      {data && edges.length === 0 && <p>Nothing yet. Likes and replies to your posts show up here.</p>}
      <ul className="notifications" aria-label="Notifications list">
        {edges.map(({ node }) => (
          <li key={node.id} className={node.read ? 'notification' : 'notification unread'}>
            {!node.read && <span className="tag">New</span>}
            <span>
              <strong>{node.actor.name ?? 'Someone'}</strong>{' '}
              {node.kind === 'POST_LIKED' ? 'liked your post' : 'replied to your post'}{' '}
              {node.post ? <Link to={`/posts/${node.post.id}`}>{node.post.title}</Link> : 'that is no longer here'}
              {node.reply && <q className="excerpt">{node.reply.content}</q>}
            </span>
            <time dateTime={node.createdAt} className="meta">
              {when(node.createdAt)}
            </time>
          </li>
        ))}
      </ul>
    </section>
  )
}
