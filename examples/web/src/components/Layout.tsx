import { NavLink, Outlet, useNavigate } from 'react-router'
import { useMutation, useQuery, useSubscription } from 'urql'
import { NotificationAddedSubscription, SignOutMutation, UnreadCountQuery } from '../api/operations'
import { useSessionChanged, useViewer } from '../session'

/** The unread count, kept live by the `notificationAdded` subscription. */
function NotificationsLink() {
  const [{ data }] = useQuery({ query: UnreadCountQuery })
  useSubscription({ query: NotificationAddedSubscription })
  const unread = data?.unreadNotificationCount ?? 0
  return (
    <NavLink to="/notifications" aria-label={`Notifications, ${unread} unread`}>
      Notifications{' '}
      <span className={unread > 0 ? 'badge' : 'badge empty'} aria-hidden="true">
        {unread}
      </span>
    </NavLink>
  )
}

/** The header, the page, the footer. */
export function Layout() {
  const { viewer, loading } = useViewer()
  const [, signOut] = useMutation(SignOutMutation)
  const sessionChanged = useSessionChanged()
  const navigate = useNavigate()

  async function leave() {
    await signOut({})
    sessionChanged()
    navigate('/', { state: { notice: 'You are signed out.' } })
  }

  return (
    <>
      <header className="top">
        <nav aria-label="Main">
          <NavLink to="/" className="brand" end>
            Growth Diary
          </NavLink>
          {viewer && (
            <>
              <NavLink to="/goals">Goals</NavLink>
              <NavLink to="/story">Story</NavLink>
              <NotificationsLink />
            </>
          )}
        </nav>
        <div className="account">
          {loading ? null : viewer ? (
            <>
              <NavLink to="/profile" className="who">
                {viewer.name || viewer.email}
              </NavLink>
              <button type="button" className="secondary" onClick={leave}>
                Sign out
              </button>
            </>
          ) : (
            <>
              <NavLink to="/sign-in">Sign in</NavLink>
              <NavLink to="/sign-up" className="button">
                Create an account
              </NavLink>
            </>
          )}
        </div>
      </header>
      {viewer && !viewer.verified && (
        <p className="banner" role="note">
          Please verify your email: follow the link we sent to {viewer.email}.
        </p>
      )}
      <main>
        <Outlet />
      </main>
    </>
  )
}
