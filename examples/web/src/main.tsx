import { StrictMode } from 'react'
import type { ReactNode } from 'react'
import { createRoot } from 'react-dom/client'
import { BrowserRouter, Navigate, Route, Routes } from 'react-router'
import './index.css'
import { ApiProvider, useViewer } from './session'
import { Layout } from './components/Layout'
import { FeedPage } from './pages/FeedPage'
import { PostPage } from './pages/PostPage'
import { ForgotPasswordPage, ResetPasswordPage, SignInPage, SignUpPage, VerifyEmailPage } from './pages/auth'
import { NotificationsPage } from './pages/NotificationsPage'
import { ProfilePage } from './pages/ProfilePage'
import { GoalsPage } from './pages/GoalsPage'
import { StoryPage } from './pages/StoryPage'

/** Pages that need a session send anonymous readers to sign in. */
function SignedIn({ children }: { children: ReactNode }) {
  const { viewer, loading } = useViewer()
  if (loading) return <p className="loading">Loading…</p>
  return viewer ? children : <Navigate to="/sign-in" replace />
}

function NotFound() {
  return (
    <section className="card narrow">
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
    </section>
  )
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApiProvider>
      <BrowserRouter>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<FeedPage />} />
            <Route path="posts/:id" element={<PostPage />} />
            <Route path="sign-up" element={<SignUpPage />} />
            <Route path="sign-in" element={<SignInPage />} />
            <Route path="forgot-password" element={<ForgotPasswordPage />} />
            <Route path="reset-password" element={<ResetPasswordPage />} />
            <Route path="verify-email" element={<VerifyEmailPage />} />
            <Route path="notifications" element={<SignedIn><NotificationsPage /></SignedIn>} />
            <Route path="profile" element={<SignedIn><ProfilePage /></SignedIn>} />
            <Route path="goals" element={<SignedIn><GoalsPage /></SignedIn>} />
            <Route path="story" element={<SignedIn><StoryPage /></SignedIn>} />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </BrowserRouter>
    </ApiProvider>
  </StrictMode>,
)
