// The feed: infinite scroll over Relay cursors, the composer, like and unlike, replies.
import { expect, test } from '@playwright/test'
import { SCREENSHOTS, operation, signUp } from './support'

const DIARY = [
  'Paired on the flaky build',
  'Read the PostgreSQL planner chapter',
  'First talk at the meetup',
  'Learned how keyset pagination works',
  'Reviewed a tricky migration',
]

test('the feed loads older posts as the reader scrolls', async ({ page }) => {
  await signUp(page, 'Ada Lovelace')
  // 25 posts, quickly: the app's own CreatePost document, by its hash, with this browser's cookie.
  const titles: string[] = []
  for (let day = 1; day <= 25; day++) {
    const title = `Day ${day}: ${DIARY[day % DIARY.length]}`
    titles.push(title)
    await operation(page.request, 'CreatePost', {
      input: { title, content: `Notes from day ${day}. What went well, what to try next.`, status: 'PUBLISHED' },
    })
  }
  await page.goto('/')
  const feed = page.getByRole('region', { name: 'Feed' })
  await expect(feed.getByRole('article', { name: titles[24] })).toBeVisible()
  // The first page only (10 posts); older ones come with scrolling.
  await expect(feed.getByRole('article')).toHaveCount(10)
  await expect(feed.getByRole('article', { name: titles[0] })).toHaveCount(0)
  await page.screenshot({ path: `${SCREENSHOTS}feed.png` })

  await expect(async () => {
    await page.mouse.wheel(0, 20_000)
    await expect(page.getByText('You have reached the first post.')).toBeVisible({ timeout: 1_000 })
  }).toPass({ timeout: 30_000 })
  for (const title of titles) {
    await expect(feed.getByRole('article', { name: title }), title).toHaveCount(1)
  }
  expect(await feed.getByRole('article').count()).toBeGreaterThanOrEqual(25)
})

test('publish a post, like and unlike it, reply to it', async ({ page }) => {
  await signUp(page, 'Grace Hopper')
  await page.goto('/')
  // Field errors first: a post needs a title.
  await page.getByLabel('Content').fill('A day without a title')
  await page.getByRole('button', { name: 'Publish' }).click()
  await expect(page.getByLabel('Title')).toHaveAccessibleDescription('Title must not be empty.')

  const title = `Found the bug in the compiler`
  await page.getByLabel('Title').fill(title)
  await page.getByLabel('Content').fill('It was a moth, again.')
  await page.getByRole('button', { name: 'Publish' }).click()
  await expect(page.getByRole('status')).toHaveText(`Published “${title}”.`)
  await expect(page.getByLabel('Title')).toHaveValue('')

  const post = page.getByRole('region', { name: 'Feed' }).getByRole('article', { name: title })
  await expect(post).toBeVisible()
  await expect(post.getByRole('heading', { name: title })).toBeVisible()
  await post.getByRole('button', { name: 'Like' }).click()
  await expect(post.getByRole('button', { name: 'Unlike' })).toHaveAttribute('aria-pressed', 'true')
  await expect(post.getByText('1 like', { exact: true })).toBeVisible()
  await post.getByRole('button', { name: 'Unlike' }).click()
  await expect(post.getByRole('button', { name: 'Like' })).toHaveAttribute('aria-pressed', 'false')
  await expect(post.getByText('0 likes', { exact: true })).toBeVisible()

  await post.getByRole('link', { name: '0 replies' }).click()
  await expect(page.getByRole('heading', { level: 1, name: title })).toBeVisible()
  await page.getByLabel('Reply').fill('Taped it into the log book.')
  await page.getByRole('button', { name: 'Send reply' }).click()
  const replies = page.getByRole('list', { name: 'Replies' })
  await expect(replies.getByRole('listitem')).toHaveCount(1)
  await expect(replies).toContainText('Taped it into the log book.')
  await expect(page.getByLabel('Reply')).toHaveValue('')
  await expect(page.getByRole('heading', { name: 'Replies (1)' })).toBeVisible()

  await page.getByRole('link', { name: 'Growth Diary' }).click()
  await expect(page.getByRole('article', { name: title }).getByRole('link', { name: '1 reply' })).toBeVisible()
})
