// What the flows share: the addresses of the run, mail from maildev, users
// made through the UI, and the app's own trusted documents for quick set-up.
import { readFileSync } from 'node:fs'
import { expect } from '@playwright/test'
import type { APIRequestContext, Page } from '@playwright/test'

function required(name: string): string {
  const value = process.env[name]
  if (!value) {
    throw new Error(`${name} is not set: run the flows through \`cargo test --test api web_app\` (see README.md)`)
  }
  return value
}

export const APP_URL = required('WEB_APP_URL')
export const API_URL = required('WEB_API_URL')
export const MAILDEV_URL = required('MAILDEV_URL')
export const OAUTH_LABEL = required('OAUTH_PROVIDER_LABEL')
export const SCREENSHOTS = new URL('./screenshots/', import.meta.url).pathname
export const PASSWORD = 'correct horse battery'

let counter = 0
/** An address nobody else in this run uses. */
export const uniqueEmail = (who: string) =>
  `${who.toLowerCase().replace(/[^a-z0-9]+/g, '.')}-${process.pid}-${Date.now().toString(36)}-${counter++}@example.com`

interface Email {
  subject: string
  text: string
  to: { address: string }[]
}

/** The newest email to `to` whose subject is `subject`, waiting for it to arrive. */
export async function emailTo(to: string, subject: string): Promise<Email> {
  let found: Email | undefined
  await expect
    .poll(
      async () => {
        const response = await fetch(`${MAILDEV_URL}/email`)
        const emails = (await response.json()) as Email[]
        found = emails.reverse().find((e) => e.subject === subject && e.to.some((a) => a.address === to))
        return Boolean(found)
      },
      { message: `an email "${subject}" to ${to}`, timeout: 30_000 },
    )
    .toBe(true)
  return found!
}

/** The `{APP_URL}/<route>?token=` link of an email. */
export function linkIn(email: Email, route: string): string {
  const match = email.text.match(new RegExp(`https?://\\S+/${route}\\?token=[\\w-]+`))
  if (!match) throw new Error(`no /${route} link in:\n${email.text}`)
  return match[0]
}

/** Creates an account through the app and leaves it signed in. */
export async function signUp(page: Page, name: string, email = uniqueEmail(name)): Promise<string> {
  await page.goto('/sign-up')
  await page.getByLabel('Name').fill(name)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible()
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible()
  return email
}

/** Signs in through the app's form. */
export async function signIn(page: Page, email: string, password = PASSWORD) {
  await page.goto('/sign-in')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

const manifest = JSON.parse(
  readFileSync(new URL('../src/gql/persisted-documents.json', import.meta.url), 'utf8'),
) as Record<string, string>

/**
 * Runs one of the app's own operations by its hash with the browser
 * context's cookies, as the app would (the server runs trusted documents only).
 */
export async function operation(request: APIRequestContext, name: string, variables: object) {
  const entry = Object.entries(manifest).find(([, doc]) => new RegExp(`\\b(query|mutation) ${name}\\b`).test(doc))
  if (!entry) throw new Error(`no operation ${name} in the manifest`)
  const response = await request.post(`${API_URL}/graphql`, {
    headers: { 'X-Requested-With': 'growth-diary-web', Origin: APP_URL },
    data: { documentId: entry[0], variables },
  })
  const body = await response.json()
  expect(body.errors, JSON.stringify(body)).toBeUndefined()
  return body.data
}
