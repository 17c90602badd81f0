'use strict';
// Preloaded (node --require ./loopback.js) before LoginRadius's SDK, which
// always speaks HTTPS to api.loginradius.com:443 and has no setting for the
// address. Only the connection under its requests changes: https's global
// agent opens a plain TCP connection to the test server on loopback
// (127.0.0.1:$OTPRESET_SDK_PORT) instead of a TLS one. The SDK's code and
// the bytes of its requests (Host: api.loginradius.com included) are as
// they would be on the wire to LoginRadius.
const https = require('https');
const net = require('net');

const port = Number(process.env.OTPRESET_SDK_PORT);
if (!Number.isInteger(port) || port <= 0) {
  throw new Error('OTPRESET_SDK_PORT must name the test server\'s port');
}
https.globalAgent.createConnection = function (options) {
  return net.connect({ host: '127.0.0.1', port });
};
