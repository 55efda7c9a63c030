// Errors from the contract's codes, as sentences: validation per field, and rate limits with their wait.
import { expect, test } from '@playwright/test'
import { signUp } from './support'

test('validation errors are shown on their fields', async ({ page }) => {
  await page.goto('/sign-up')
  await page.getByLabel('Name').fill('Edsger')
  await page.getByLabel('Email').fill('not-an-email')
  await page.getByLabel('Password').fill('correct horse battery')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.getByLabel('Email')).toHaveAccessibleDescription('Email is not a valid email address.')
  await expect(page.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true')

  await page.getByLabel('Email').fill(`edsger-${Date.now()}@example.com`)
  await page.getByLabel('Password').fill('short')
  await page.getByRole('button', { name: 'Create account' }).click()
  await expect(page.getByLabel('Password')).toHaveAccessibleDescription(/Password must be at least 8 characters\./)
  await expect(page.getByLabel('Email')).not.toHaveAttribute('aria-invalid', 'true')
})

test('too many wrong passwords: the wait is said in minutes', async ({ page, browser }) => {
  const email = await signUp(page, 'Mallory Guess')
  const guesser = await (await browser.newContext()).newPage()
  await guesser.goto('/sign-in')
  await guesser.getByLabel('Email').fill(email)
  await guesser.getByLabel('Password').fill('wrong guess')
  const alert = guesser.getByRole('alert')
  // 10 failures per address and email in 15 minutes; the 11th attempt waits.
  for (let attempt = 1; attempt <= 10; attempt++) {
    const answered = guesser.waitForResponse((r) => r.url().endsWith('/graphql') && r.request().method() === 'POST')
    await guesser.getByRole('button', { name: 'Sign in' }).click()
    await answered
    await expect(alert).toHaveText("That email and password don't match an account. Check both and try again.")
  }
  await guesser.getByRole('button', { name: 'Sign in' }).click()
  await expect(alert).toHaveText(/^Too many attempts for now\. Please wait (\d+ minutes|a minute) and try again\.$/)
  await guesser.context().close()
})
