import { useState } from 'react'
import type { FormEvent } from 'react'
import { useMutation, useQuery } from 'urql'
import { describe } from '../api/errors'
import type { Problem } from '../api/errors'
import { CreateGoalMutation, GoalsQuery, UpdateGoalStatusMutation } from '../api/operations'
import type { GoalPeriod } from '../gql/graphql'
import { Alert, Field } from '../components/Field'

const noProblem: Problem = { message: '', fields: {} }
const PERIODS: GoalPeriod[] = ['DAILY', 'WEEKLY', 'MONTHLY', 'QUARTERLY', 'YEARLY']
const periodName = (p: string) => p.charAt(0) + p.slice(1).toLowerCase()
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10)

function GoalForm() {
  const [title, setTitle] = useState('')
  const [period, setPeriod] = useState<GoalPeriod>('WEEKLY')
  const [deadline, setDeadline] = useState(() => inDays(7))
  const [problem, setProblem] = useState(noProblem)
  const [{ fetching }, create] = useMutation(CreateGoalMutation)
  async function submit(event: FormEvent) {
    event.preventDefault()
    // The end of the chosen day, in the reader's time zone.
    const end = deadline ? new Date(`${deadline}T23:59:59`).toISOString() : ''
    const result = await create({ input: { title, period, deadline: end } })
    if (result.error) return setProblem(describe(result.error, { labels: { title: 'Title', deadline: 'Deadline' } }))
    setProblem(noProblem)
    setTitle('')
  }
  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="new-goal-heading">
      <h2 id="new-goal-heading">A new goal</h2>
      <Field label="Title" value={title} onChange={setTitle} error={problem.fields.title} />
      <div className="row">
        <div className="field">
          <label htmlFor="goal-period">Period</label>
          <select id="goal-period" value={period} onChange={(e) => setPeriod(e.target.value as GoalPeriod)}>
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {periodName(p)}
              </option>
            ))}
          </select>
        </div>
        <Field label="Deadline" type="date" value={deadline} onChange={setDeadline} error={problem.fields.deadline} />
      </div>
      <Alert message={problem.message} />
      <button type="submit" disabled={fetching}>
        Add goal
      </button>
    </form>
  )
}

/** The viewer's goals, nearest deadline first, and the score completing them earns. */
export function GoalsPage() {
  const [{ data, error }] = useQuery({ query: GoalsQuery })
  const [, setStatus] = useMutation(UpdateGoalStatusMutation)
  const [problem, setProblem] = useState('')
  const me = data?.me
  async function toggle(id: string, done: boolean) {
    const result = await setStatus({ id, status: done ? 'ACTIVE' : 'COMPLETED' })
    setProblem(result.error ? describe(result.error).message : '')
  }
  if (error) return <Alert message={describe(error).message} />
  return (
    <>
      <section className="card" aria-labelledby="goals-heading">
        <h1 id="goals-heading">Goals</h1>
        {me && <p className="score">Achievement score: {me.achievementScore}</p>}
        <Alert message={problem} />
        <ul className="goals" aria-label="Your goals">
          {me?.goals.edges.map(({ node }) => {
            const done = node.status === 'COMPLETED'
            return (
              <li key={node.id} className={done ? 'goal done' : 'goal'}>
                <span>
                  <strong>{node.title}</strong>{' '}
                  <span className="meta">
                    {periodName(node.period)} · due {new Date(node.deadline).toLocaleDateString()}
                    {done && ' · done'}
                  </span>
                </span>
                <button type="button" className="secondary" onClick={() => toggle(node.id, done)} aria-label={`${done ? 'Reopen' : 'Mark done'}: ${node.title}`}>
                  {done ? 'Reopen' : 'Mark done'}
                </button>
              </li>
            )
          })}
        </ul>
        {me && me.goals.edges.length === 0 && <p>No goals yet.</p>}
      </section>
      <GoalForm />
    </>
  )
}
