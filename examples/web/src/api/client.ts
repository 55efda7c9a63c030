import { Client, fetchExchange, subscriptionExchange } from 'urql'
import { cacheExchange } from '@urql/exchange-graphcache'
import type { Cache } from '@urql/exchange-graphcache'
import { relayPagination } from '@urql/exchange-graphcache/extras'
import { persistedExchange } from '@urql/exchange-persisted'
import { createClient as createWsClient } from 'graphql-ws'
import { GRAPHQL_URL, GRAPHQL_WS_URL } from './config'
import { trustedHash } from './trusted'

/** Drops every cached `typename.field`, whatever its arguments, so that it is fetched again. */
function invalidateField(cache: Cache, entity: string | null | undefined, field: string) {
  if (!entity) return
  for (const info of cache.inspectFields(entity)) {
    if (info.fieldName === field) cache.invalidate(entity, info.fieldKey)
  }
}

const viewer = (cache: Cache) => cache.resolve('Query', 'me') as string | null

function invalidateNotifications(cache: Cache) {
  invalidateField(cache, 'Query', 'unreadNotificationCount')
  invalidateField(cache, 'Query', 'notifications')
}

/** The normalized cache: entities by id, Relay pages merged, lists refreshed after writes. */
const cache = () =>
  cacheExchange({
    keys: {
      PageInfo: () => null,
      PostConnection: () => null,
      PostEdge: () => null,
      ReplyConnection: () => null,
      ReplyEdge: () => null,
      NotificationConnection: () => null,
      NotificationEdge: () => null,
      GoalConnection: () => null,
      GoalEdge: () => null,
      StoryConnection: () => null,
      StoryEdge: () => null,
      StoryQuota: () => null,
      AuthPayload: () => null,
      LinkedAccount: () => null,
    },
    resolvers: {
      Query: { feed: relayPagination(), notifications: relayPagination() },
      Post: { replies: relayPagination() },
    },
    updates: {
      Mutation: {
        createPost: (_result, _args, cache) => invalidateField(cache, 'Query', 'feed'),
        createReply: (_result, args, cache) =>
          invalidateField(cache, cache.keyOfEntity({ __typename: 'Post', id: args.postId as string }), 'replies'),
        createGoal: (_result, _args, cache) => invalidateField(cache, viewer(cache), 'goals'),
        updateGoal: (_result, _args, cache) => invalidateField(cache, 'Query', 'me'),
        generateStory: (_result, _args, cache) => {
          invalidateField(cache, 'Query', 'storyQuota')
          invalidateField(cache, viewer(cache), 'stories')
        },
        markNotificationsRead: (_result, _args, cache) => invalidateNotifications(cache),
      },
      Subscription: {
        replyAdded: (_result, args, cache) =>
          invalidateField(cache, cache.keyOfEntity({ __typename: 'Post', id: args.postId as string }), 'replies'),
        notificationAdded: (_result, _args, cache) => invalidateNotifications(cache),
      },
    },
  })

/** A GraphQL client and what must be closed with it. */
export interface ApiClient {
  client: Client
  dispose: () => void
}

/**
 * A fresh client: a new cache and a new socket. The app makes one per session
 * (sign-in, sign-out), since the socket's session is the cookie of its upgrade.
 */
export function makeClient(): ApiClient {
  const ws = createWsClient({
    url: GRAPHQL_WS_URL,
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
  })
  const client = new Client({
    url: GRAPHQL_URL,
    fetchOptions: {
      // The session cookie travels cross-origin only when asked for.
      credentials: 'include',
      // The server's CSRF rule: a header that a cross-site form cannot send.
      headers: { 'X-Requested-With': 'growth-diary-web' },
    },
    exchanges: [
      cache(),
      // Only hashes travel: the server runs its manifest of these documents.
      persistedExchange({
        enforcePersistedQueries: true,
        enableForMutation: true,
        enableForSubscriptions: true,
        preferGetForPersistedQueries: false,
        generateHash: async (_query, document) => trustedHash(document),
      }),
      subscriptionExchange({
        forwardSubscription(request) {
          // No text, only the hash (an empty query next to a hash counts as absent).
          const payload = { ...request, query: request.query ?? '' }
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(payload, sink) }) }
        },
      }),
      fetchExchange,
    ],
  })
  return { client, dispose: () => void ws.dispose() }
}
