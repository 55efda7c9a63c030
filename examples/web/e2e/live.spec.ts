// Live updates, with two people in two browser contexts: replies appear on
// an open post, and the notifications badge counts likes and replies.
import { expect, test } from '@playwright/test'
import type { Page } from '@playwright/test'
import { SCREENSHOTS, signUp } from './support'

/** Resolves once the page has sent a `subscribe` whose payload contains `marker`. */
function subscribed(page: Page, marker: string): Promise<void> {
  return new Promise((resolve) => {
    page.on('websocket', (socket) =>
      socket.on('framesent', (frame) => {
        const text = String(frame.payload)
        if (text.includes('"type":"subscribe"') && text.includes(marker)) resolve()
      }),
    )
  })
}

async function publish(page: Page, title: string, content: string): Promise<string> {
  await page.goto('/')
  await page.getByLabel('Title').fill(title)
  await page.getByLabel('Content').fill(content)
  await page.getByRole('button', { name: 'Publish' }).click()
  await page.getByRole('article', { name: title }).getByRole('link', { name: title }).click()
  await page.waitForURL(/\/posts\//)
  return page.url()
}

test("a post's replies update live when someone else replies", async ({ browser }) => {
  const author = await (await browser.newContext()).newPage()
  const reader = await (await browser.newContext()).newPage()
  await signUp(author, 'Katherine Johnson')
  await signUp(reader, 'Dorothy Vaughan')

  const title = `Checked the orbit by hand`
  const url = await publish(author, title, 'The numbers matched the machine to the last digit.')
  const postId = url.split('/posts/')[1]
  const live = subscribed(author, postId)
  await author.reload()
  await live
  await expect(author.getByRole('heading', { name: 'Replies (0)' })).toBeVisible()

  await reader.goto(url)
  await reader.getByLabel('Reply').fill('Then we fly. Thank you!')
  await reader.getByRole('button', { name: 'Send reply' }).click()

  // No reload on the author's side: the reply arrives over the socket.
  const replies = author.getByRole('list', { name: 'Replies' })
  await expect(replies).toContainText('Then we fly. Thank you!')
  await expect(author.getByRole('heading', { name: 'Replies (1)' })).toBeVisible()

  await author.getByLabel('Reply').fill('Glad to help: the launch window is tomorrow at 9.')
  await author.getByRole('button', { name: 'Send reply' }).click()
  await expect(reader.getByRole('list', { name: 'Replies' })).toContainText('the launch window is tomorrow')
  await expect(replies.getByRole('listitem')).toHaveCount(2)
  await author.screenshot({ path: `${SCREENSHOTS}post-with-replies.png` })
  await author.context().close()
  await reader.context().close()
})

test('the notifications badge counts likes and replies live, and the list marks them read', async ({ browser }) => {
  const author = await (await browser.newContext()).newPage()
  const reader = await (await browser.newContext()).newPage()
  await signUp(author, 'Margaret Hamilton')
  await signUp(reader, 'Mary Jackson')

  const title = `Wrote the priority scheduler`
  const url = await publish(author, title, 'When the alarms came, the important jobs still ran.')
  const live = subscribed(author, 'subscribe')
  await author.goto('/')
  await live
  const badge = author.getByRole('link', { name: /^Notifications/ })
  await expect(badge).toHaveAccessibleName('Notifications, 0 unread')

  await reader.goto(url)
  await reader.getByRole('button', { name: 'Like' }).click()
  await expect(reader.getByRole('button', { name: 'Unlike' })).toHaveAttribute('aria-pressed', 'true')
  await expect(badge).toHaveAccessibleName('Notifications, 1 unread')

  await reader.getByLabel('Reply').fill('This saved the landing.')
  await reader.getByRole('button', { name: 'Send reply' }).click()
  await expect(badge).toHaveAccessibleName('Notifications, 2 unread')

  await badge.click()
  const list = author.getByRole('list', { name: 'Notifications list' })
  await expect(list.getByRole('listitem')).toHaveCount(2)
  await expect(list.getByRole('listitem').nth(0)).toContainText(`Mary Jackson replied to your post ${title}`)
  await expect(list.getByRole('listitem').nth(0)).toContainText('This saved the landing.')
  await expect(list.getByRole('listitem').nth(1)).toContainText(`Mary Jackson liked your post ${title}`)
  // Opening the list marked them read.
  await expect(badge).toHaveAccessibleName('Notifications, 0 unread')
  await expect(list.getByText('New')).toHaveCount(0)
  await author.screenshot({ path: `${SCREENSHOTS}notifications.png` })
  await author.reload()
  await expect(author.getByRole('link', { name: /^Notifications/ })).toHaveAccessibleName('Notifications, 0 unread')
  await author.context().close()
  await reader.context().close()
})
