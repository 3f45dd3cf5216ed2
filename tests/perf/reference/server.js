'use strict';
// Reference socket.io server for the Townhall benchmark harness (tests/perf).
//
// It does only what the benchmark needs and nothing else:
//   * a client connecting with `auth: {room}` joins that room;
//   * a client connecting with `auth: {publisher: true}` may emit
//     `publish` {room, seq, sent_at?, size?}; the server broadcasts
//     `room_event` {seq, type: "question.published", data: {...}, sent_at}
//     to the room (sent_at is the publisher's timestamp in seconds since the
//     epoch when given, otherwise the server's clock);
//   * REDIS_URL set -> @socket.io/redis-adapter, so several processes behind
//     Redis deliver each other's broadcasts (scale-out);
//   * PORT (default 3000) and HOST (default 127.0.0.1) from the environment;
//   * prints "ready" on stdout once listening (and, with Redis, subscribed);
//   * exits cleanly (code 0) on SIGTERM or SIGINT, and when PARENT_PID is
//     set and that process has gone.

const http = require('http');
const { Server } = require('socket.io');

const PORT = parseInt(process.env.PORT || '3000', 10);
const HOST = process.env.HOST || '127.0.0.1';
const REDIS_URL = process.env.REDIS_URL || '';
const BACKLOG = parseInt(process.env.BACKLOG || '4096', 10);

const httpServer = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  res.writeHead(404);
  res.end();
});
// Many clients arrive at once in the join storm; do not let Node's default
// 2-minute request timeouts or header limits get in the way.
httpServer.maxConnections = 0;

const io = new Server(httpServer, {
  serveClient: false,
  // Websocket only: the load generator speaks the websocket transport
  // directly, and so do production clients behind a non-sticky balancer.
  transports: ['websocket'],
  perMessageDeflate: false,
  cors: { origin: true },
});

let redisClients = [];
let published = 0;

const BODY = 'How will the new neighbourhood policing team handle anti-social behaviour near the park? '.repeat(8);

io.on('connection', (socket) => {
  const auth = socket.handshake.auth || {};
  if (typeof auth.room === 'string' && auth.room.length > 0) {
    socket.join(auth.room);
  }
  if (auth.publisher === true) {
    socket.on('publish', (msg, ack) => {
      if (!msg || typeof msg.room !== 'string') {
        if (typeof ack === 'function') ack({ ok: false });
        return;
      }
      const seq = msg.seq;
      const size = Math.max(0, Math.min(BODY.length, msg.size | 0 || 80));
      const sentAt = typeof msg.sent_at === 'number' ? msg.sent_at : Date.now() / 1000;
      io.to(msg.room).emit('room_event', {
        seq,
        type: 'question.published',
        data: {
          room: msg.room,
          question_id: `q-${seq}`,
          display_name: 'Resident',
          text: BODY.slice(0, size),
        },
        sent_at: sentAt,
      });
      published += 1;
      if (typeof ack === 'function') ack({ ok: true });
    });
  }
});

async function setupRedis() {
  if (!REDIS_URL) return;
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pubClient = createClient({ url: REDIS_URL });
  const subClient = pubClient.duplicate();
  pubClient.on('error', (err) => console.error('redis pub error', err.message));
  subClient.on('error', (err) => console.error('redis sub error', err.message));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  redisClients = [pubClient, subClient];
  // The key prefix keeps benchmark traffic apart from anything else on the server.
  io.adapter(createAdapter(pubClient, subClient, { key: process.env.REDIS_KEY || 'townhall-perf' }));
}

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  const force = setTimeout(() => process.exit(0), 3000);
  force.unref();
  io.close(() => {
    Promise.allSettled(redisClients.map((c) => c.quit())).then(() => {
      console.log(`stopped on ${signal} after ${published} broadcasts`);
      process.exit(0);
    });
  });
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
// PARENT_PID: stop when the harness that started us is gone (even if it was SIGKILLed).
const PARENT_PID = parseInt(process.env.PARENT_PID || '0', 10);
if (PARENT_PID > 0) {
  setInterval(() => {
    try {
      process.kill(PARENT_PID, 0);
    } catch (err) {
      shutdown('parent exit');
    }
  }, 2000).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));

setupRedis()
  .then(() => {
    httpServer.listen({ port: PORT, host: HOST, backlog: BACKLOG }, () => {
      console.log('ready');
    });
  })
  .catch((err) => {
    console.error('startup failed:', err);
    process.exit(1);
  });
