import { useState } from 'react'
import { Link } from 'react-router'
import { useMutation } from 'urql'
import { describe } from '../api/errors'
import { LikePostMutation, UnlikePostMutation } from '../api/operations'
import type { PostFieldsFragment } from '../gql/graphql'
import { Alert } from './Field'
import { when } from '../format'

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** Like or unlike: one toggle button whose pressed state is the viewer's like. */
export function LikeButton({ post, signedIn }: { post: PostFieldsFragment; signedIn: boolean }) {
  const [{ fetching: liking }, like] = useMutation(LikePostMutation)
  const [{ fetching: unliking }, unlike] = useMutation(UnlikePostMutation)
  const [problem, setProblem] = useState('')
  async function toggle() {
    const result = post.likedByMe ? await unlike({ postId: post.id }) : await like({ postId: post.id })
    setProblem(result.error ? describe(result.error).message : '')
  }
  return (
    <>
      <button
        type="button"
        className="like"
        aria-pressed={post.likedByMe}
        disabled={!signedIn || liking || unliking}
        title={signedIn ? undefined : 'Sign in to like posts'}
        onClick={toggle}
      >
        {post.likedByMe ? 'Unlike' : 'Like'}
      </button>
      <span className="count">{plural(post.likeCount, 'like', 'likes')}</span>
      <Alert message={problem} />
    </>
  )
}

/** A post in the feed: an article headed by its title. */
export function PostCard({ post, signedIn }: { post: PostFieldsFragment; signedIn: boolean }) {
  const headingId = `post-${post.id}-title`
  return (
    <article className="card post" aria-labelledby={headingId}>
      <h2 id={headingId}>
        <Link to={`/posts/${post.id}`}>{post.title}</Link>
      </h2>
      <p className="meta">
        {post.author.name ?? 'Someone'} · <time dateTime={post.createdAt}>{when(post.createdAt)}</time>
      </p>
      <p className="content">{post.content}</p>
      <footer className="post-actions">
        <LikeButton post={post} signedIn={signedIn} />
        <Link to={`/posts/${post.id}`} className="count">
          {plural(post.replyCount, 'reply', 'replies')}
        </Link>
      </footer>
    </article>
  )
}
