// Self-service: the profile, goals, the story of the week, exporting my data, deleting my account.
import { readFileSync } from 'node:fs'
import { expect, test } from '@playwright/test'
import { PASSWORD, signIn, signUp } from './support'

test('edit the profile, keep goals, write the story of the week, export my data, delete the account', async ({ page }) => {
  const email = await signUp(page, 'Rosalind Franklin')
  await page.getByRole('link', { name: 'Rosalind Franklin' }).click()

  // Profile.
  await expect(page.getByRole('heading', { name: 'Your profile' })).toBeVisible()
  await page.getByLabel('Name').fill('Rosalind E. Franklin')
  await page.getByLabel('Current role').fill('Research associate')
  await page.getByLabel('Experience level').selectOption('SENIOR')
  await page.getByLabel('Years of experience').fill('12')
  await page.getByLabel('Skills', { exact: true }).fill('X-ray crystallography, Photography')
  await page.getByLabel('Bio').fill('Photograph 51.')
  await page.getByRole('button', { name: 'Save profile' }).click()
  await expect(page.getByRole('status')).toHaveText('Profile saved.')
  await expect(page.getByRole('link', { name: 'Rosalind E. Franklin' })).toBeVisible()
  await page.reload()
  await expect(page.getByLabel('Current role')).toHaveValue('Research associate')
  await expect(page.getByLabel('Skills', { exact: true })).toHaveValue('X-ray crystallography, Photography')

  // A field the server refuses is named next to it.
  await page.getByLabel('Years of experience').fill('200')
  await page.getByRole('button', { name: 'Save profile' }).click()
  await expect(page.getByLabel('Years of experience')).toHaveAccessibleDescription(/^Years of experience .+\.$/)
  await page.getByLabel('Years of experience').fill('12')

  // Goals.
  await page.getByRole('link', { name: 'Goals' }).click()
  await expect(page.getByText('Achievement score: 0')).toBeVisible()
  await page.getByLabel('Title').fill('Finish the TMV paper')
  await page.getByLabel('Period').selectOption('WEEKLY')
  await page.getByRole('button', { name: 'Add goal' }).click()
  const goals = page.getByRole('list', { name: 'Your goals' })
  await expect(goals).toContainText('Finish the TMV paper')
  await page.getByRole('button', { name: 'Mark done: Finish the TMV paper' }).click()
  await expect(page.getByRole('button', { name: 'Reopen: Finish the TMV paper' })).toBeVisible()
  await expect(page.getByText('Achievement score: 5')).toBeVisible()

  // The story of the week.
  await page.getByRole('link', { name: 'Story' }).click()
  await expect(page.getByText('5 of 5 stories left today.')).toBeVisible()
  await page.getByRole('button', { name: "Write this week's story" }).click()
  const story = page.getByRole('article', { name: /^Story of \d{4}-W\d{2}$/ })
  await expect(story).toBeVisible()
  await expect(story).toContainText('Finish the TMV paper')
  await expect(page.getByText('4 of 5 stories left today.')).toBeVisible()

  // Export.
  await page.getByRole('link', { name: 'Rosalind E. Franklin' }).click()
  const download = page.waitForEvent('download')
  await page.getByRole('button', { name: 'Export my data' }).click()
  const file = await (await download).path()
  const exported = JSON.parse(readFileSync(file, 'utf8'))
  const text = JSON.stringify(exported)
  expect(text).toContain(email)
  expect(text).toContain('Finish the TMV paper')
  expect(text).toContain('Research associate')

  // Delete: a wrong password is refused, the right one erases everything.
  await page.getByLabel('Password').fill('not my password')
  await page.getByRole('button', { name: 'Delete my account' }).click()
  await expect(page.getByRole('alert')).toHaveText('That password is not right.')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Delete my account' }).click()
  await expect(page.getByRole('status')).toHaveText('Your account and everything in it are deleted.')
  await expect(page.getByRole('banner').getByRole('link', { name: 'Sign in' })).toBeVisible()
  await signIn(page, email)
  await expect(page.getByRole('alert')).toHaveText("That email and password don't match an account. Check both and try again.")
})
