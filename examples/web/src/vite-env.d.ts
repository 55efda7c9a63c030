/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The server's origin, e.g. `http://127.0.0.1:8000`. */
  readonly VITE_API_URL?: string
  /** Sign-in providers to offer: `name:Label` pairs, comma-separated. */
  readonly VITE_OAUTH_PROVIDERS?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}
