/** Where the GraphQL server is, fixed at build time (`VITE_API_URL`). */
export const API_URL = (import.meta.env.VITE_API_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '')

/** `POST /graphql` for queries and mutations. */
export const GRAPHQL_URL = `${API_URL}/graphql`

/** The same endpoint as a `graphql-transport-ws` socket, for subscriptions. */
export const GRAPHQL_WS_URL = GRAPHQL_URL.replace(/^http/, 'ws')

/** A sign-in provider the server is configured with. */
export interface OAuthProvider {
  /** The server's name for it: `/auth/{name}/login`. */
  name: string
  /** What the button calls it. */
  label: string
}

/**
 * The providers to offer, from `VITE_OAUTH_PROVIDERS` (`github:GitHub,google:Google`):
 * the server has no endpoint that lists them, and an unconfigured one answers 404.
 */
export const OAUTH_PROVIDERS: OAuthProvider[] = (import.meta.env.VITE_OAUTH_PROVIDERS ?? '')
  .split(',')
  .map((entry: string) => entry.trim())
  .filter(Boolean)
  .map((entry: string) => {
    const [name, label] = entry.split(':')
    return { name, label: label || name }
  })

/** The server's sign-in URL for `provider`, landing back on `path` of this app. */
export function oauthLoginUrl(provider: OAuthProvider, path = '/'): string {
  return `${API_URL}/auth/${encodeURIComponent(provider.name)}/login?redirect_to=${encodeURIComponent(path)}`
}
