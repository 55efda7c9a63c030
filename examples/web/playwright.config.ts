import { defineConfig } from '@playwright/test'

// The end-to-end run (e2e/README in ../README.md): a Rust test starts the
// server, maildev, an OIDC provider and `vite preview`, then runs this with
// their addresses in the environment. Debian's Chromium, never a download.
export default defineConfig({
  testDir: 'e2e',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  workers: Number(process.env.E2E_WORKERS ?? 2),
  retries: 0,
  forbidOnly: true,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL: process.env.WEB_APP_URL,
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' },
    viewport: { width: 1000, height: 800 },
    trace: 'retain-on-failure',
  },
})
