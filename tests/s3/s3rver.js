// Starts s3rver (tests/s3/package.json pins it) on 127.0.0.1: node s3rver.js PORT DIR BUCKET.
// Port 0 picks a free one; the port is printed as "listening PORT" once the bucket exists.
// The test front (tests/integration/s3_front.py) stands before it and checks signatures.
'use strict';
const S3rver = require('s3rver');

const [port, directory, bucket] = process.argv.slice(2);
const server = new S3rver({
  port: Number(port),
  address: '127.0.0.1',
  directory,
  silent: true,
  // Virtual-hosted requests to BUCKET.s3.localhost:PORT (curl resolves *.localhost itself).
  serviceEndpoint: 'localhost',
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.run((err, address) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(`listening ${address.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
