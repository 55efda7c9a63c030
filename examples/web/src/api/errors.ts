import type { CombinedError } from 'urql'

/** What went wrong, as sentences a person understands. */
export interface Problem {
  /** One sentence for the whole form or page; empty when every error belongs to a field. */
  message: string
  /** Sentences for the fields the server named (`extensions.field`). */
  fields: Record<string, string>
}

/** What an operation calls the error of a wrong sign-in, a missing session, ... */
export interface Wording {
  /** Instead of the general UNAUTHENTICATED sentence. */
  unauthenticated?: string
  /** Field names as the form labels them (`newPassword` -> `New password`). */
  labels?: Record<string, string>
}

const sentence = (text: string) => {
  const trimmed = text.trim().replace(/[.]+$/, '')
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1) + '.'
}

/** "15 minutes", "an hour", "30 seconds": how long `seconds` is, rounded up. */
export function waitFor(seconds: number): string {
  if (seconds < 60) return seconds <= 1 ? 'a second' : `${Math.ceil(seconds)} seconds`
  const minutes = Math.ceil(seconds / 60)
  if (minutes < 60) return minutes === 1 ? 'a minute' : `${minutes} minutes`
  const hours = Math.ceil(minutes / 60)
  return hours === 1 ? 'an hour' : `${hours} hours`
}

const labelOf = (field: string, wording: Wording) =>
  wording.labels?.[field.replace(/^input\./, '')] ??
  field
    .replace(/^input\./, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/^./, (c) => c.toUpperCase())

/** Turns a failed operation's error into sentences, by the contract's `extensions.code`. */
export function describe(error: CombinedError, wording: Wording = {}): Problem {
  const problem: Problem = { message: '', fields: {} }
  if (error.networkError && error.graphQLErrors.length === 0) {
    problem.message = "Can't reach the server. Check your connection and try again."
    return problem
  }
  const general: string[] = []
  for (const err of error.graphQLErrors) {
    const ext = (err.extensions ?? {}) as Record<string, unknown>
    const retryAfter = typeof ext.retryAfter === 'number' ? ext.retryAfter : 60
    switch (ext.code) {
      case 'BAD_USER_INPUT': {
        const field = typeof ext.field === 'string' ? ext.field : ''
        const detail = err.message.startsWith(`${field}: `) ? err.message.slice(field.length + 2) : err.message
        const text = sentence(`${labelOf(field || 'input', wording)} ${detail}`)
        const key = field.replace(/^input\./, '')
        if (key && wording.labels && key in wording.labels) problem.fields[key] = text
        else general.push(text)
        break
      }
      case 'UNAUTHENTICATED':
        general.push(wording.unauthenticated ?? 'Please sign in to do that.')
        break
      case 'FORBIDDEN':
        general.push("You aren't allowed to do that.")
        break
      case 'NOT_FOUND':
        general.push("That isn't here any more: it may have been deleted.")
        break
      case 'CONFLICT':
        general.push(sentence(err.message))
        break
      case 'RATE_LIMITED':
        general.push(`Too many attempts for now. Please wait ${waitFor(retryAfter)} and try again.`)
        break
      case 'SERVICE_UNAVAILABLE':
        general.push(`The service is briefly unavailable. Please try again in ${waitFor(retryAfter)}.`)
        break
      case 'PERSISTED_QUERY_NOT_FOUND':
      case 'TRUSTED_DOCUMENT_REQUIRED':
        general.push('This version of the app no longer matches the server. Please reload the page.')
        break
      default:
        general.push(
          err.message && err.message !== 'internal server error'
            ? sentence(err.message)
            : 'Something went wrong on our side. Please try again.',
        )
    }
  }
  problem.message = [...new Set(general)].join(' ')
  return problem
}
