// Every operation the app sends. GraphQL Codegen types them from the server's
// schema.graphql and writes their manifest (src/gql/persisted-documents.json),
// the only documents a server with TRUSTED_DOCUMENTS_ONLY=true runs.
import { graphql } from '../gql'

export const ViewerQuery = graphql(`
  query Viewer {
    me {
      id
      name
      email
      verified
      image
      achievementScore
    }
  }
`)

export const SignUpMutation = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      user { id name email verified }
    }
  }
`)

export const SignInMutation = graphql(`
  mutation SignIn($email: String!, $password: String!) {
    signIn(email: $email, password: $password) {
      user { id name email verified }
    }
  }
`)

export const SignOutMutation = graphql(`
  mutation SignOut {
    signOut
  }
`)

export const VerifyEmailMutation = graphql(`
  mutation VerifyEmail($token: String!) {
    verifyEmail(token: $token) { id email verified }
  }
`)

export const ResendVerificationMutation = graphql(`
  mutation ResendVerification {
    resendVerificationEmail
  }
`)

export const RequestPasswordResetMutation = graphql(`
  mutation RequestPasswordReset($email: String!) {
    requestPasswordReset(email: $email)
  }
`)

export const ResetPasswordMutation = graphql(`
  mutation ResetPassword($token: String!, $newPassword: String!) {
    resetPassword(token: $token, newPassword: $newPassword) {
      user { id name email verified }
    }
  }
`)

export const PostFields = graphql(`
  fragment PostFields on Post {
    id
    title
    content
    createdAt
    likeCount
    likedByMe
    replyCount
    author { id name image }
  }
`)

export const FeedQuery = graphql(`
  query Feed($first: Int!, $after: String) {
    feed(first: $first, after: $after) {
      edges { cursor node { ...PostFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`)

export const CreatePostMutation = graphql(`
  mutation CreatePost($input: CreatePostInput!) {
    createPost(input: $input) { ...PostFields }
  }
`)

export const LikePostMutation = graphql(`
  mutation LikePost($postId: ID!) {
    likePost(postId: $postId) { id likeCount likedByMe }
  }
`)

export const UnlikePostMutation = graphql(`
  mutation UnlikePost($postId: ID!) {
    unlikePost(postId: $postId) { id likeCount likedByMe }
  }
`)

export const ReplyFields = graphql(`
  fragment ReplyFields on Reply {
    id
    content
    createdAt
    author { id name image }
  }
`)

export const PostQuery = graphql(`
  query Post($id: ID!, $first: Int!, $after: String) {
    post(id: $id) {
      ...PostFields
      replies(first: $first, after: $after) {
        edges { cursor node { ...ReplyFields } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`)

export const CreateReplyMutation = graphql(`
  mutation CreateReply($postId: ID!, $content: String!) {
    createReply(postId: $postId, content: $content) {
      ...ReplyFields
      post { id replyCount }
    }
  }
`)

export const ReplyAddedSubscription = graphql(`
  subscription ReplyAdded($postId: ID!) {
    replyAdded(postId: $postId) {
      ...ReplyFields
      post { id replyCount }
    }
  }
`)

export const UnreadCountQuery = graphql(`
  query UnreadCount {
    unreadNotificationCount
  }
`)

export const NotificationAddedSubscription = graphql(`
  subscription NotificationAdded {
    notificationAdded { id kind read createdAt }
  }
`)

export const NotificationsQuery = graphql(`
  query Notifications($first: Int!, $after: String) {
    notifications(first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          kind
          read
          createdAt
          actor { id name }
          post { id title }
          reply { id content }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`)

export const MarkNotificationsReadMutation = graphql(`
  mutation MarkNotificationsRead($upTo: ID) {
    markNotificationsRead(upTo: $upTo)
  }
`)

export const ProfileQuery = graphql(`
  query Profile {
    me {
      id
      name
      email
      currentRole
      experienceLevel
      industry
      yearsOfExperience
      currentSkills
      targetSkills
      bio
      linkedAccounts { provider providerAccountId }
    }
  }
`)

export const UpdateProfileMutation = graphql(`
  mutation UpdateProfile($input: ProfileInput!) {
    updateProfile(input: $input) {
      id
      name
      currentRole
      experienceLevel
      industry
      yearsOfExperience
      currentSkills
      targetSkills
      bio
    }
  }
`)

export const ExportMyDataQuery = graphql(`
  query ExportMyData {
    exportMyData
  }
`)

export const DeleteAccountMutation = graphql(`
  mutation DeleteAccount($password: String) {
    deleteAccount(password: $password)
  }
`)

export const GoalsQuery = graphql(`
  query Goals {
    me {
      id
      achievementScore
      goals(first: 50) {
        edges { node { id title period status deadline completedAt } }
      }
    }
  }
`)

export const CreateGoalMutation = graphql(`
  mutation CreateGoal($input: CreateGoalInput!) {
    createGoal(input: $input) { id title period status deadline completedAt }
  }
`)

export const UpdateGoalStatusMutation = graphql(`
  mutation UpdateGoalStatus($id: ID!, $status: GoalStatus!) {
    updateGoal(id: $id, input: { status: $status }) { id status completedAt }
  }
`)

export const StoriesQuery = graphql(`
  query Stories {
    storyQuota { limit used remaining resetsAt }
    me {
      id
      stories(first: 10) {
        edges { node { id period content updatedAt } }
      }
    }
  }
`)

export const GenerateStoryMutation = graphql(`
  mutation GenerateStory($period: String!) {
    generateStory(period: $period) { id period content updatedAt }
  }
`)
