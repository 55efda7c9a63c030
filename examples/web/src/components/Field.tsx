import { useId } from 'react'
import type { ChangeEvent } from 'react'

interface FieldProps {
  label: string
  value: string
  onChange: (value: string) => void
  type?: string
  error?: string
  multiline?: boolean
  rows?: number
  autoComplete?: string
  hint?: string
}

/** A labelled input or textarea, with its error announced and tied to it. */
export function Field({ label, value, onChange, type = 'text', error, multiline, rows = 4, autoComplete, hint }: FieldProps) {
  const id = useId()
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined
  const props = {
    id,
    value,
    autoComplete,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': described,
    onChange: (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => onChange(event.target.value),
  }
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {multiline ? <textarea rows={rows} {...props} /> : <input type={type} {...props} />}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  )
}

/** The sentence of a failed form or page, announced to screen readers. */
export function Alert({ message }: { message?: string }) {
  if (!message) return null
  return (
    <p role="alert" className="alert">
      {message}
    </p>
  )
}

/** A confirmation, announced politely. */
export function Notice({ message }: { message?: string }) {
  if (!message) return null
  return (
    <p role="status" className="notice">
      {message}
    </p>
  )
}
