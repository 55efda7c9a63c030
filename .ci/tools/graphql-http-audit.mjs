// Runs the GraphQL-over-HTTP conformance audits of graphql-http (pinned in
// package.json) against a running server and prints every result.
//
//   node graphql-http-audit.mjs http://127.0.0.1:8000/graphql
//
// Exits 1 when any audit does not pass, whatever its level: graphql-http
// reports a failed MUST as "error", a failed SHOULD as "warn" and a failed
// MAY as "notice". The server passes every one of them today, so a "warn" or
// a "notice" is a regression too (the last four to be fixed were all SHOULDs
// and MAYs). The package is pinned, so a new audit appears only with a
// deliberate upgrade. Exits 2 on a bad invocation or when an audit throws
// (e.g. the server does not answer).
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node graphql-http-audit.mjs <graphql endpoint URL>');
  process.exit(2);
}

let results;
try {
  results = await auditServer({ url });
} catch (err) {
  console.error(`audit aborted: ${err?.stack ?? err}`);
  process.exit(2);
}

let passed = 0;
for (const result of results) {
  if (result.status === 'ok') {
    passed += 1;
    console.log(`ok     ${result.id} ${result.name}`);
    continue;
  }
  console.log(`${result.status.padEnd(6)} ${result.id} ${result.name}`);
  console.log(`       reason: ${result.reason}`);
  const response = result.response;
  let body = '';
  try {
    body = await response.text();
  } catch {
    // The audit may have read the body already; the reason says enough then.
  }
  console.log(`       response: ${response.status} ${response.headers.get('content-type') ?? ''} ${body}`);
}
const failed = results.length - passed;
console.log(`graphql-http audit: ${passed} of ${results.length} passed`);
process.exit(failed === 0 ? 0 : 1);
