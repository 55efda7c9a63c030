import { useState } from 'react'
import type { FormEvent } from 'react'
import { Link, useNavigate, useSearchParams } from 'react-router'
import { useMutation } from 'urql'
import { describe } from '../api/errors'
import type { Problem } from '../api/errors'
import { OAUTH_PROVIDERS, oauthLoginUrl } from '../api/config'
import {
  RequestPasswordResetMutation,
  ResetPasswordMutation,
  SignInMutation,
  SignUpMutation,
  VerifyEmailMutation,
} from '../api/operations'
import { Alert, Field, Notice } from '../components/Field'
import { useSessionChanged } from '../session'

const noProblem: Problem = { message: '', fields: {} }
const labels = { email: 'Email', password: 'Password', name: 'Name', newPassword: 'New password', token: 'The link' }

/** Create account: name, email, password; then "check your email". */
export function SignUpPage() {
  const [name, setName] = useState('')
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [problem, setProblem] = useState(noProblem)
  const [sentTo, setSentTo] = useState('')
  const [{ fetching }, signUp] = useMutation(SignUpMutation)
  const sessionChanged = useSessionChanged()

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await signUp({ input: { name: name || null, email, password } })
    if (result.error) return setProblem(describe(result.error, { labels }))
    setProblem(noProblem)
    setSentTo(result.data?.signUp.user.email ?? email)
    sessionChanged()
  }

  if (sentTo) {
    return (
      <section className="card narrow">
        <h1>Check your email</h1>
        <p>
          We sent a link to <strong>{sentTo}</strong>. Follow it to verify your address. You are already signed in.
        </p>
        <p>
          <Link to="/">Go to the feed</Link>
        </p>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>Create your account</h1>
      <form onSubmit={submit} noValidate>
        <Field label="Name" value={name} onChange={setName} autoComplete="name" error={problem.fields.name} />
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" error={problem.fields.email} />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="new-password"
          hint="At least 8 characters."
          error={problem.fields.password}
        />
        <Alert message={problem.message} />
        <button type="submit" disabled={fetching}>
          Create account
        </button>
      </form>
      <p className="aside">
        Already have an account? <Link to="/sign-in">Sign in</Link>
      </p>
    </section>
  )
}

/** Sign in with email and password, or with a configured provider. */
export function SignInPage() {
  const [email, setEmail] = useState('')
  const [password, setPassword] = useState('')
  const [problem, setProblem] = useState(noProblem)
  const [{ fetching }, signIn] = useMutation(SignInMutation)
  const sessionChanged = useSessionChanged()
  const navigate = useNavigate()

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await signIn({ email, password })
    if (result.error) {
      return setProblem(
        describe(result.error, {
          labels,
          unauthenticated: "That email and password don't match an account. Check both and try again.",
        }),
      )
    }
    sessionChanged()
    navigate('/')
  }

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <form onSubmit={submit} noValidate>
        <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" error={problem.fields.email} />
        <Field
          label="Password"
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          error={problem.fields.password}
        />
        <Alert message={problem.message} />
        <div className="actions">
          <button type="submit" disabled={fetching}>
            Sign in
          </button>
          <button type="button" className="link" onClick={() => navigate('/forgot-password')}>
            Forgot password?
          </button>
        </div>
      </form>
      {OAUTH_PROVIDERS.length > 0 && (
        <div className="providers">
          <p>Or</p>
          {OAUTH_PROVIDERS.map((provider) => (
            <a key={provider.name} className="button secondary" href={oauthLoginUrl(provider, '/')}>
              Sign in with {provider.label}
            </a>
          ))}
        </div>
      )}
      <p className="aside">
        New here? <Link to="/sign-up">Create an account</Link>
      </p>
    </section>
  )
}

/** Asks for a reset link; the answer is the same whether or not the address has an account. */
export function ForgotPasswordPage() {
  const [email, setEmail] = useState('')
  const [problem, setProblem] = useState(noProblem)
  const [sent, setSent] = useState(false)
  const [{ fetching }, request] = useMutation(RequestPasswordResetMutation)

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await request({ email })
    if (result.error) return setProblem(describe(result.error, { labels }))
    setProblem(noProblem)
    setSent(true)
  }

  return (
    <section className="card narrow">
      <h1>Reset your password</h1>
      {sent ? (
        <Notice message={`If an account uses ${email}, we sent it a link to set a new password. It works for one hour.`} />
      ) : (
        <form onSubmit={submit} noValidate>
          <p>Enter the email of your account and we will send you a link to set a new password.</p>
          <Field label="Email" type="email" value={email} onChange={setEmail} autoComplete="email" error={problem.fields.email} />
          <Alert message={problem.message} />
          <button type="submit" disabled={fetching}>
            Send reset link
          </button>
        </form>
      )}
    </section>
  )
}

/** Where the emailed reset link lands: a new password, then signed in. */
export function ResetPasswordPage() {
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const [password, setPassword] = useState('')
  const [problem, setProblem] = useState(noProblem)
  const [{ fetching }, reset] = useMutation(ResetPasswordMutation)
  const sessionChanged = useSessionChanged()
  const navigate = useNavigate()

  async function submit(event: FormEvent) {
    event.preventDefault()
    const result = await reset({ token, newPassword: password })
    if (result.error) return setProblem(describe(result.error, { labels }))
    sessionChanged()
    navigate('/', { state: { notice: 'Your password is set and you are signed in.' } })
  }

  return (
    <section className="card narrow">
      <h1>Set a new password</h1>
      {!token ? (
        <Alert message="This link has no token. Open the link from the email again." />
      ) : (
        <form onSubmit={submit} noValidate>
          <Field
            label="New password"
            type="password"
            value={password}
            onChange={setPassword}
            autoComplete="new-password"
            hint="At least 8 characters."
            error={problem.fields.newPassword}
          />
          <Alert message={problem.fields.token ?? problem.message} />
          <button type="submit" disabled={fetching}>
            Set password
          </button>
        </form>
      )}
    </section>
  )
}

/**
 * Where the emailed verification link lands. Opening it changes nothing (mail
 * scanners open links); the button confirms with a POST.
 */
export function VerifyEmailPage() {
  const [params] = useSearchParams()
  const token = params.get('token') ?? ''
  const [problem, setProblem] = useState(noProblem)
  const [verified, setVerified] = useState('')
  const [{ fetching }, verify] = useMutation(VerifyEmailMutation)

  async function confirm() {
    const result = await verify({ token })
    if (result.error) return setProblem(describe(result.error, { labels }))
    setProblem(noProblem)
    setVerified(result.data?.verifyEmail.email ?? 'Your email')
  }

  return (
    <section className="card narrow">
      <h1>Verify your email</h1>
      {verified ? (
        <>
          <Notice message={`Thank you: ${verified} is verified.`} />
          <p>
            <Link to="/">Go to the feed</Link>
          </p>
        </>
      ) : (
        <>
          <p>Confirm that this address is yours.</p>
          <Alert message={problem.fields.token ?? problem.message} />
          <button type="button" onClick={confirm} disabled={fetching || !token}>
            Verify my email
          </button>
        </>
      )}
    </section>
  )
}
