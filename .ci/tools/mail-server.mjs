// A real SMTP server for the tests: maildev (pinned in package.json), on ports
// it binds itself, so no port is picked by one process and bound by another.
//   node mail-server.mjs [smtp-port] [web-port]      (0 or absent: any free port)
// Prints "ready <smtp port> <web port>" once both listen.
import { once } from 'node:events';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const MailDev = require('maildev');
const web = require('maildev/lib/web');

// maildev replaces a falsy port with its default, so 0 travels as the string "0".
const [smtp = '0', http = '0'] = process.argv.slice(2);
const maildev = new MailDev({ ip: '127.0.0.1', smtp, web: http, silent: true });
await maildev.listen();
if (!web.server.listening) await once(web.server, 'listening');
console.log(`ready ${maildev.smtp.server.address().port} ${web.server.address().port}`);
