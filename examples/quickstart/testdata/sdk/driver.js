'use strict';
// node --require ./loopback.js driver.js
//
// Drives LoginRadius's Node.js SDK for sdk_test.go. Each line on stdin is
// one call, as JSON: {"apiKey": "...", "method": "API.method", "args": [...]}
// (for example phoneAuthenticationApi.resetPasswordByPhoneOTP). For each,
// one line on stdout says how the SDK's promise settled:
// {"resolved": value} or {"rejected": reason}; an Error reason (the request
// never got an answer) is printed as {"rejected": {"error": "..."}}. Calls
// run one at a time, in order.
const readline = require('readline');
const loginradius = require('loginradius-sdk');

const clients = new Map(); // one SDK per API key, as an app would configure it
function client(apiKey) {
  if (!clients.has(apiKey)) {
    clients.set(apiKey, loginradius({
      apiKey,
      // Required by the SDK's constructor; none of the calls used here sends it.
      apiSecret: 'not-sent-by-these-calls'
    }));
  }
  return clients.get(apiKey);
}

async function call(line) {
  const { apiKey, method, args } = JSON.parse(line);
  const [api, fn] = method.split('.');
  const lr = client(apiKey);
  if (!lr[api] || typeof lr[api][fn] !== 'function') {
    return { rejected: { error: 'the SDK has no method ' + method } };
  }
  try {
    const value = await lr[api][fn](...args);
    return { resolved: value === undefined ? null : value };
  } catch (reason) {
    return { rejected: reason instanceof Error ? { error: String(reason) } : reason };
  }
}

(async () => {
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    process.stdout.write(JSON.stringify(await call(line)) + '\n');
  }
  process.exit(0);
})();
