import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react'
import type { ReactNode } from 'react'
import { Provider, useQuery } from 'urql'
import { makeClient } from './api/client'
import { ViewerQuery } from './api/operations'
import type { ViewerQuery as Viewer } from './gql/graphql'

const Renew = createContext<() => void>(() => {})

/**
 * The GraphQL client, renewed whenever the session changes: a sign-in or
 * sign-out starts from an empty cache and a socket that carries the new cookie.
 */
export function ApiProvider({ children }: { children: ReactNode }) {
  const [api, setApi] = useState(makeClient)
  // The client in use, for `renew` to close; not disposed on unmount, since
  // StrictMode unmounts once in development and a disposed socket stays closed.
  const current = useRef(api)
  useEffect(() => {
    current.current = api
  }, [api])
  const renew = useCallback(() => {
    current.current.dispose()
    setApi(makeClient())
  }, [])
  return (
    <Renew.Provider value={renew}>
      <Provider value={api.client}>{children}</Provider>
    </Renew.Provider>
  )
}

/** Call after the session changed (signed in, signed out, account deleted). */
export const useSessionChanged = () => useContext(Renew)

/** The signed-in user, or null; `loading` until the server has answered once. */
export function useViewer(): { viewer: Viewer['me']; loading: boolean } {
  const [{ data, fetching, error }] = useQuery({ query: ViewerQuery })
  return { viewer: data?.me ?? null, loading: fetching && !data && !error }
}
