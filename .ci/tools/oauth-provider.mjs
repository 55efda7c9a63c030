// A real OAuth 2.0 / OpenID Connect provider for the tests (oauth2-mock-server,
// pinned in package.json). It checks PKCE and signs ID tokens with a fresh RSA key.
//   node oauth-provider.mjs <port> '<claims as JSON>'
// The claims (sub, email, email_verified, name, ...) go into every token it
// signs and into its userinfo answer. Prints "ready <issuer>" once listening.
// A line of JSON on stdin replaces the claims (another person signs in next);
// it answers "claims set".
import readline from 'node:readline';
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.argv[2] ?? 0);
let claims = JSON.parse(process.argv[3] ?? '{}');

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
server.service.on('beforeTokenSigning', (token) => {
  Object.assign(token.payload, claims);
});
server.service.on('beforeUserinfo', (response) => {
  response.body = { sub: 'johndoe', ...claims };
});
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  claims = JSON.parse(line);
  console.log('claims set');
});
await server.start(port, '127.0.0.1');
console.log(`ready ${server.issuer.url}`);
