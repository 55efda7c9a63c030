import { useState } from 'react'
import { useMutation, useQuery } from 'urql'
import { describe } from '../api/errors'
import { GenerateStoryMutation, StoriesQuery } from '../api/operations'
import { Alert } from '../components/Field'
import { isoWeek } from '../format'

/** The story of the week, written from the diary by the server's generator. */
export function StoryPage() {
  const [{ data, error }] = useQuery({ query: StoriesQuery })
  const [{ fetching }, generate] = useMutation(GenerateStoryMutation)
  const [problem, setProblem] = useState('')
  const [week] = useState(() => isoWeek(new Date()))
  async function write() {
    const result = await generate({ period: week })
    setProblem(result.error ? describe(result.error).message : '')
  }
  if (error) return <Alert message={describe(error).message} />
  const quota = data?.storyQuota
  return (
    <>
      <section className="card" aria-labelledby="story-heading">
        <h1 id="story-heading">Story of the week</h1>
        <p>
          Your posts, goals and the replies you received this week ({week}), told as a story.
          {quota && ` ${quota.remaining} of ${quota.limit} stories left today.`}
        </p>
        <Alert message={problem} />
        <button type="button" onClick={write} disabled={fetching}>
          {fetching ? 'Writing…' : "Write this week's story"}
        </button>
      </section>
      {data?.me?.stories.edges.map(({ node }) => (
        <article key={node.id} className="card story" aria-labelledby={`story-${node.id}`}>
          <h2 id={`story-${node.id}`}>Story of {node.period}</h2>
          {node.content.split(/\n{2,}/).map((paragraph, i) => (
            <p key={i}>{paragraph}</p>
          ))}
        </article>
      ))}
    </>
  )
}
