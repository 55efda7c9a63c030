// Accounts: sign up and verify, sign in and out, reset a forgotten password,
// sign in with an OpenID Connect provider. Every step through the app's UI.
import { expect, test } from '@playwright/test'
import { API_URL, APP_URL, OAUTH_LABEL, PASSWORD, emailTo, linkIn, signIn, signUp } from './support'

test('create an account, then verify the email from its link', async ({ page }) => {
  const email = await signUp(page, 'Vera Verify')
  await expect(page.getByRole('main').getByText(email, { exact: true })).toBeVisible()
  await page.getByRole('link', { name: 'Go to the feed' }).click()
  await expect(page.getByRole('note')).toContainText('Please verify your email')

  const link = linkIn(await emailTo(email, 'Confirm your email address'), 'verify-email')
  expect(link.startsWith(`${APP_URL}/verify-email?token=`)).toBe(true)
  await page.goto(link)
  await expect(page.getByRole('heading', { name: 'Verify your email' })).toBeVisible()
  await page.getByRole('button', { name: 'Verify my email' }).click()
  await expect(page.getByRole('status')).toHaveText(`Thank you: ${email} is verified.`)
  await expect(page.getByRole('note')).toHaveCount(0)

  // The link is single use.
  await page.goto(link)
  await page.getByRole('button', { name: 'Verify my email' }).click()
  await expect(page.getByRole('alert')).toHaveText('The link is invalid or has expired.')
})

test('sign in and out with the session cookie of the app', async ({ page, context }) => {
  const email = await signUp(page, 'Sam Session')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page.getByRole('status')).toHaveText('You are signed out.')
  await expect(page.getByRole('banner').getByRole('link', { name: 'Sign in' })).toBeVisible()

  await signIn(page, email)
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible()
  await expect(page.getByRole('link', { name: 'Sam Session' })).toBeVisible()
  // The session is the server's HttpOnly cookie, sent cross-origin with credentials.
  const cookie = (await context.cookies(API_URL)).find((c) => c.name === 'growth_diary_session')
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false })
  await page.reload()
  await expect(page.getByRole('link', { name: 'Sam Session' })).toBeVisible()

  await page.getByRole('button', { name: 'Sign out' }).click()
  await expect(page.getByRole('banner').getByRole('link', { name: 'Sign in' })).toBeVisible()
  await page.reload()
  await expect(page.getByRole('banner').getByRole('link', { name: 'Sign in' })).toBeVisible()
  expect((await context.cookies(API_URL)).find((c) => c.name === 'growth_diary_session')).toBeUndefined()
})

test('forgot password: the emailed link sets a new password and signs in', async ({ page, browser }) => {
  const email = await signUp(page, 'Fern Forgetful')
  await page.getByRole('button', { name: 'Sign out' }).click()

  // Another browser, with no session at all.
  const context = await browser.newContext()
  const other = await context.newPage()
  await other.goto('/sign-in')
  await other.getByRole('button', { name: 'Forgot password?' }).click()
  await other.getByLabel('Email').fill(email)
  await other.getByRole('button', { name: 'Send reset link' }).click()
  await expect(other.getByRole('status')).toContainText(`If an account uses ${email}, we sent it a link`)

  const link = linkIn(await emailTo(email, 'Reset your password'), 'reset-password')
  expect(link.startsWith(`${APP_URL}/reset-password?token=`)).toBe(true)
  await other.goto(link)
  await other.getByLabel('New password').fill('short')
  await other.getByRole('button', { name: 'Set password' }).click()
  await expect(other.getByLabel('New password')).toHaveAccessibleDescription(/New password must be at least 8 characters\./)
  await other.getByLabel('New password').fill('a brand new passphrase')
  await other.getByRole('button', { name: 'Set password' }).click()
  await expect(other.getByRole('status')).toHaveText('Your password is set and you are signed in.')
  await expect(other.getByRole('link', { name: 'Fern Forgetful' })).toBeVisible()
  await context.close()

  // The old password is gone; the new one works.
  await signIn(page, email, PASSWORD)
  await expect(page.getByRole('alert')).toHaveText("That email and password don't match an account. Check both and try again.")
  await signIn(page, email, 'a brand new passphrase')
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible()
})

test('sign in with an OpenID Connect provider and land back in the app', async ({ page }) => {
  await page.goto('/sign-in')
  await page.getByRole('link', { name: `Sign in with ${OAUTH_LABEL}` }).click()
  // Out to the server, the provider, the server's callback, and back to the app.
  await page.waitForURL(`${APP_URL}/`)
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible()
  await expect(page.getByRole('link', { name: 'Olivia Oidc' })).toBeVisible()
  await page.getByRole('link', { name: 'Olivia Oidc' }).click()
  await expect(page.getByText(/signs in with mock/)).toBeVisible()
})
