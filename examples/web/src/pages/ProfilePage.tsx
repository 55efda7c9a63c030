import { useState } from 'react'
import type { FormEvent } from 'react'
import { useNavigate } from 'react-router'
import { useClient, useMutation, useQuery } from 'urql'
import { describe } from '../api/errors'
import type { Problem } from '../api/errors'
import { DeleteAccountMutation, ExportMyDataQuery, ProfileQuery, UpdateProfileMutation } from '../api/operations'
import type { ExperienceLevel, ProfileQuery as ProfileQueryResult } from '../gql/graphql'
import { Alert, Field, Notice } from '../components/Field'
import { useSessionChanged } from '../session'

const noProblem: Problem = { message: '', fields: {} }
const LEVELS: ExperienceLevel[] = ['INTERN', 'JUNIOR', 'MID_LEVEL', 'SENIOR', 'LEAD', 'MANAGER', 'DIRECTOR', 'VP', 'C_LEVEL']
const levelName = (level: string) => level.replace('_', '-').toLowerCase().replace(/^./, (c) => c.toUpperCase())
const labels = {
  name: 'Name',
  currentRole: 'Current role',
  industry: 'Industry',
  yearsOfExperience: 'Years of experience',
  bio: 'Bio',
  currentSkills: 'Skills',
  targetSkills: 'Skills to learn',
  password: 'Password',
}
const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean)

type Me = NonNullable<ProfileQueryResult['me']>

const formOf = (me: Me) => ({
  name: me.name ?? '',
  currentRole: me.currentRole ?? '',
  experienceLevel: me.experienceLevel as string,
  industry: me.industry ?? '',
  years: me.yearsOfExperience?.toString() ?? '',
  bio: me.bio ?? '',
  skills: me.currentSkills.join(', '),
  target: me.targetSkills.join(', '),
})

function ProfileForm() {
  const [{ data }] = useQuery({ query: ProfileQuery })
  return data?.me ? <ProfileEditor me={data.me} /> : <p className="loading">Loading…</p>
}

function ProfileEditor({ me }: { me: Me }) {
  const [form, setForm] = useState(() => formOf(me))
  const [problem, setProblem] = useState(noProblem)
  const [saved, setSaved] = useState('')
  const [{ fetching }, update] = useMutation(UpdateProfileMutation)

  const set = (key: keyof typeof form) => (value: string) => setForm((old) => ({ ...old, [key]: value }))

  async function submit(event: FormEvent) {
    event.preventDefault()
    const years = form.years.trim() === '' ? null : Number(form.years)
    if (years !== null && !Number.isInteger(years)) {
      return setProblem({ message: '', fields: { yearsOfExperience: 'Years of experience must be a whole number.' } })
    }
    const result = await update({
      input: {
        name: form.name || null,
        currentRole: form.currentRole || null,
        experienceLevel: form.experienceLevel as ExperienceLevel,
        industry: form.industry || null,
        yearsOfExperience: years,
        bio: form.bio || null,
        currentSkills: list(form.skills),
        targetSkills: list(form.target),
      },
    })
    if (result.error) {
      setSaved('')
      return setProblem(describe(result.error, { labels }))
    }
    setProblem(noProblem)
    setSaved('Profile saved.')
  }

  return (
    <form className="card" onSubmit={submit} noValidate aria-labelledby="profile-heading">
      <h1 id="profile-heading">Your profile</h1>
      <p className="meta">
        {me.email}
        {me.linkedAccounts.length > 0 && ` · signs in with ${me.linkedAccounts.map((a) => a.provider).join(', ')}`}
      </p>
      <Field label="Name" value={form.name} onChange={set('name')} error={problem.fields.name} />
      <div className="row">
        <Field label="Current role" value={form.currentRole} onChange={set('currentRole')} error={problem.fields.currentRole} />
        <div className="field">
          <label htmlFor="experience-level">Experience level</label>
          <select id="experience-level" value={form.experienceLevel} onChange={(e) => set('experienceLevel')(e.target.value)}>
            {LEVELS.map((level) => (
              <option key={level} value={level}>
                {levelName(level)}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="row">
        <Field label="Industry" value={form.industry} onChange={set('industry')} error={problem.fields.industry} />
        <Field label="Years of experience" type="number" value={form.years} onChange={set('years')} error={problem.fields.yearsOfExperience} />
      </div>
      <Field label="Bio" value={form.bio} onChange={set('bio')} multiline error={problem.fields.bio} />
      <Field label="Skills" value={form.skills} onChange={set('skills')} hint="Separated by commas." error={problem.fields.currentSkills} />
      <Field label="Skills to learn" value={form.target} onChange={set('target')} hint="Separated by commas." error={problem.fields.targetSkills} />
      <Alert message={problem.message} />
      <Notice message={saved} />
      <button type="submit" disabled={fetching}>
        Save profile
      </button>
    </form>
  )
}

/** Everything the server keeps about the viewer, as a JSON file. */
function ExportData() {
  const client = useClient()
  const [problem, setProblem] = useState('')
  const [busy, setBusy] = useState(false)
  async function download() {
    setBusy(true)
    const result = await client.query(ExportMyDataQuery, {}, { requestPolicy: 'network-only' }).toPromise()
    setBusy(false)
    if (result.error || !result.data) return setProblem(result.error ? describe(result.error).message : 'Nothing came back.')
    setProblem('')
    const blob = new Blob([JSON.stringify(result.data.exportMyData, null, 2)], { type: 'application/json' })
    const link = document.createElement('a')
    link.href = URL.createObjectURL(blob)
    link.download = 'growth-diary-export.json'
    link.click()
    URL.revokeObjectURL(link.href)
  }
  return (
    <section className="card" aria-labelledby="export-heading">
      <h2 id="export-heading">Your data</h2>
      <p>Download your profile, goals, posts, replies, likes, stories and sign-ins as one JSON file.</p>
      <Alert message={problem} />
      <button type="button" className="secondary" onClick={download} disabled={busy}>
        Export my data
      </button>
    </section>
  )
}

/** Erases the account, after its password. */
function DeleteAccount() {
  const [password, setPassword] = useState('')
  const [problem, setProblem] = useState(noProblem)
  const [{ fetching }, remove] = useMutation(DeleteAccountMutation)
  const sessionChanged = useSessionChanged()
  const navigate = useNavigate()
  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await remove({ password: password || null })
    if (result.error) {
      return setProblem(describe(result.error, { labels, unauthenticated: 'That password is not right.' }))
    }
    sessionChanged()
    navigate('/', { state: { notice: 'Your account and everything in it are deleted.' } })
  }
  return (
    <form className="card danger" onSubmit={submit} noValidate aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete your account</h2>
      <p>This erases your profile, goals, posts, replies, likes and stories. It cannot be undone.</p>
      <Field
        label="Password"
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete="current-password"
        hint="Leave it empty if you only sign in with a provider."
        error={problem.fields.password}
      />
      <Alert message={problem.message} />
      <button type="submit" className="danger" disabled={fetching}>
        Delete my account
      </button>
    </form>
  )
}

/** Profile editing, data export and account deletion. */
export function ProfilePage() {
  return (
    <>
      <ProfileForm />
      <ExportData />
      <DeleteAccount />
    </>
  )
}
