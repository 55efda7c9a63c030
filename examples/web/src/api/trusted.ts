import type { DocumentNode, OperationDefinitionNode } from 'graphql'
import * as generated from '../gql/graphql'

// The client preset embeds each document's hash in `__meta__`, but the cache
// rewrites documents (adding __typename) and the copy loses it: the hash is
// looked up by operation name instead, which codegen keeps unique.
const hashes = new Map<string, string>()
for (const value of Object.values(generated)) {
  const meta = (value as { __meta__?: { hash?: string } } | null)?.__meta__
  const definition = (value as DocumentNode | null)?.definitions?.find(
    (node): node is OperationDefinitionNode => node.kind === 'OperationDefinition',
  )
  if (meta?.hash && definition?.name) {
    hashes.set(definition.name.value, meta.hash.replace(/^sha256:/, ''))
  }
}

/** The SHA-256 (hex) under which the server's manifest holds `document`. */
export function trustedHash(document: DocumentNode): string {
  const definition = document.definitions.find(
    (node): node is OperationDefinitionNode => node.kind === 'OperationDefinition',
  )
  const hash = definition?.name && hashes.get(definition.name.value)
  if (!hash) {
    throw new Error(`operation ${definition?.name?.value ?? '(anonymous)'} is not in the trusted documents`)
  }
  return hash
}
