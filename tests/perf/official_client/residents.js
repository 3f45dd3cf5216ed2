'use strict';
// Residents on the official socket.io-client (tests/perf/official_client), for the Townhall
// benchmark's interoperability scenario and test.
//
// Each resident is one `io(url, {...})` with its own Manager (forceNew: a page has one), the
// client's default transports (long-polling first, then the upgrade probe to a WebSocket), its
// default reconnection, and `auth` given as a function, as the room page does
// (services/static/js/live.js): the token plus the last sequence it applied, so a reconnect sends
// the current `last_seq` and the server replays what was missed (`room_events`).
//
// Every `room_event` (and every event of a `room_events` replay) is recorded with its sequence
// (minus the room's offset, as tests/perf/loadgen.py does) and its receipt time, taken in the
// client's event handler, i.e. after socket.io-client has parsed it: what a page's code sees.
// Per resident it also records the transport each connection opened on, its upgrades, pings
// answered, connects, reconnects and disconnect reasons.
//
// Two ways to run it:
//   node residents.js --worker       JSON-line commands on stdin, one JSON reply line each on stdout
//                                    (the protocol of `python -m tests.perf.loadgen --worker`; the
//                                    harness drives it through tests/perf/official.py)
//   node residents.js --config FILE [--hold SECONDS]
//                                    connect the clients FILE lists ({"url", "path", "clients":
//                                    [{"auth": {...}, "room": "...", "seq_offset": 0}]}), hold, and
//                                    print every resident's record as one JSON document.
//
// Worker commands: connect, stats, records, freeze (stop answering pings: the server drops the
// connection), emit (with an acknowledgement; {"$bytes": "<base64>"} values are sent as binary),
// close, exit. Numbers go back as base64 of little-endian Float64/Float32/Uint8 arrays.

const { io } = require('socket.io-client');
const { performance } = require('perf_hooks');
const fs = require('fs');
const readline = require('readline');

const now = () => (performance.timeOrigin + performance.now()) / 1000; // epoch seconds, sub-millisecond
const b64 = (typed) => Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength).toString('base64');

function getPath(obj, path) {
  for (const key of path) {
    if (obj === null || typeof obj !== 'object') return undefined;
    obj = obj[key];
  }
  return obj;
}

// {"$bytes": "<base64>"} anywhere in a payload becomes a Buffer (socket.io sends it as a binary attachment)
function withBinary(value) {
  if (Array.isArray(value)) return value.map(withBinary);
  if (value && typeof value === 'object') {
    if (typeof value.$bytes === 'string' && Object.keys(value).length === 1) return Buffer.from(value.$bytes, 'base64');
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withBinary(v)]));
  }
  return value;
}

function plain(value) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer) return { $bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

class Resident {
  constructor(worker, spec) {
    const [idx, url, room, auth, headers, seqOffset, options] = spec;
    this.worker = worker;
    this.idx = idx;
    this.url = url;
    this.room = room;
    this.auth = auth || {};
    this.headers = headers || null;
    this.seqOffset = Number(seqOffset || 0);
    this.options = options || {};
    // the page's EventStream: the last sequence applied in order (sent as last_seq on reconnect)
    this.lastSeq = typeof this.auth.last_seq === 'number' ? this.auth.last_seq : null;
    this.pending = new Set();
    this.state = 'new'; // new, connecting, joined, failed, closed
    this.error = null;
    this.connected = false;
    this.tStart = 0;
    this.tJoined = 0;
    this.seqs = [];
    this.times = [];
    this.sources = []; // 0: room_event, 1: a room_events replay
    this.payloads = worker.opts.recordPayloads ? [] : null;
    this.opened = []; // the transport each connection (engine) opened on
    this.upgrades = 0;
    this.upgradeMs = [];
    this.pings = 0;
    this.connects = 0;
    this.reconnects = 0;
    this.disconnects = []; // [time, reason]
    this.connectErrors = {};
    this.frozen = 0;
    this.socket = null;
  }

  transport() {
    const engine = this.socket && this.socket.io.engine;
    return engine && engine.transport ? engine.transport.name : null;
  }

  start(timeout) {
    const opts = this.worker.opts;
    const options = {
      path: opts.path,
      forceNew: true,
      timeout: timeout * 1000,
      auth: (cb) => cb(this.lastSeq === null ? { ...this.auth } : { ...this.auth, last_seq: this.lastSeq }),
    };
    const transports = this.options.transports || opts.transports;
    if (transports) options.transports = transports;
    if (this.headers) options.extraHeaders = this.headers;
    this.tStart = now();
    this.state = 'connecting';
    const socket = (this.socket = io(this.url, options));
    const manager = socket.io;
    const watchEngine = () => {
      const engine = manager.engine;
      const openedAt = now();
      this.opened.push(engine.transport ? engine.transport.name : null);
      engine.on('upgrade', () => {
        this.upgrades += 1;
        this.upgradeMs.push((now() - openedAt) * 1000);
      });
    };
    manager.on('open', watchEngine);
    manager.on('ping', () => {
      this.pings += 1;
    });
    manager.on('reconnect', () => {
      this.reconnects += 1;
    });
    socket.on('disconnect', (reason) => {
      this.connected = false;
      this.disconnects.push([now(), reason]);
    });
    socket.on(opts.event, (payload) => this.record(payload, 0));
    if (opts.replayEvent) {
      socket.on(opts.replayEvent, (events) => {
        if (Array.isArray(events)) for (const e of events) this.record(e, 1);
      });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.fail('timeout');
        resolve();
      }, timeout * 1000);
      socket.on('connect', () => {
        this.connects += 1;
        this.connected = true;
        if (this.state === 'connecting') {
          clearTimeout(timer);
          this.state = 'joined';
          this.tJoined = now();
          this.worker.joined += 1;
          resolve();
        }
      });
      socket.on('connect_error', (err) => {
        const key = (err && err.message) || 'connect_error';
        this.connectErrors[key] = (this.connectErrors[key] || 0) + 1;
        if (!socket.active && this.state === 'connecting') {
          // refused by the server: socket.io-client does not retry that by itself
          clearTimeout(timer);
          this.fail(`connect refused: ${key}`.slice(0, 120));
          resolve();
        }
      });
    });
  }

  fail(reason) {
    if (this.state !== 'connecting') return;
    this.state = 'failed';
    this.error = reason;
    this.worker.failed += 1;
    this.socket.close();
  }

  record(payload, source) {
    const seq = getPath(payload, this.worker.opts.seqField);
    if (typeof seq !== 'number' || !Number.isInteger(seq)) return;
    const t = now();
    this.seqs.push(seq - this.seqOffset);
    this.times.push(t);
    this.sources.push(source);
    if (this.payloads) this.payloads.push(payload);
    this.worker.received += 1;
    if (this.lastSeq !== null && seq > this.lastSeq) {
      this.pending.add(seq);
      while (this.pending.has(this.lastSeq + 1)) {
        this.lastSeq += 1;
        this.pending.delete(this.lastSeq);
      }
    }
  }

  // Stop answering pings on the current connection (a frozen tab, a phone asleep): the server
  // gives up after its ping timeout and closes the transport; the client then reconnects by itself.
  freeze() {
    const engine = this.socket.io.engine;
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => (type === 'pong' ? undefined : send(type, ...rest));
    this.frozen += 1;
  }

  summary() {
    return {
      idx: this.idx,
      room: this.room,
      state: this.state,
      error: this.error,
      connected: this.connected,
      transport: this.transport(),
      opened: this.opened,
      upgrades: this.upgrades,
      upgrade_ms: this.upgradeMs,
      pings: this.pings,
      connects: this.connects,
      reconnects: this.reconnects,
      disconnects: this.disconnects,
      connect_errors: this.connectErrors,
      last_seq: this.lastSeq,
      frozen: this.frozen,
      t_start: this.tStart,
      t_joined: this.tJoined,
    };
  }

  dump() {
    const out = this.summary();
    out.seqs_b64 = b64(Float64Array.from(this.seqs));
    out.times_b64 = b64(Float64Array.from(this.times));
    out.sources_b64 = b64(Uint8Array.from(this.sources));
    if (this.payloads) out.payloads = this.payloads;
    return out;
  }
}

class Worker {
  constructor() {
    this.residents = [];
    this.byIdx = new Map();
    this.received = 0;
    this.joined = 0;
    this.failed = 0;
    this.opts = {
      path: '/socket.io/',
      event: 'room_event',
      replayEvent: 'room_events',
      seqField: ['seq'],
      transports: null,
      recordPayloads: false,
    };
    // event-loop lag: how late a 10 ms timer fires (the generator's own share of every latency)
    this.lagT = [];
    this.lagMs = [];
    this.lagTimer = null;
  }

  measureLag() {
    if (this.lagTimer) return;
    let due = performance.now() + 10;
    this.lagTimer = setInterval(() => {
      const t = performance.now();
      if (this.lagMs.length < 2000000) {
        this.lagMs.push(Math.max(0, t - due));
        this.lagT.push(now());
      }
      due = t + 10;
    }, 10);
    this.lagTimer.unref();
  }

  async connect(msg) {
    this.opts = {
      ...this.opts,
      path: msg.path || this.opts.path,
      event: msg.event || this.opts.event,
      replayEvent: msg.replay_event === undefined ? this.opts.replayEvent : msg.replay_event,
      seqField: (msg.seq_field || 'seq').split('.'),
      transports: msg.transports || null,
      recordPayloads: Boolean(msg.record_payloads),
    };
    this.measureLag();
    const timeout = Number(msg.timeout || 30);
    const concurrency = Math.max(1, Number(msg.concurrency || 200));
    const fresh = msg.clients.map((spec) => new Resident(this, spec));
    for (const r of fresh) {
      this.residents.push(r);
      this.byIdx.set(r.idx, r);
    }
    const t0 = now();
    let next = 0;
    const lane = async () => {
      while (next < fresh.length) {
        const r = fresh[next++];
        await r.start(timeout);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, fresh.length) }, lane));
    // the upgrade probe runs after the connection opens: give the joined ones time to finish it
    const upgradeTimeout = Number(msg.upgrade_timeout === undefined ? 10 : msg.upgrade_timeout);
    const wantUpgrade = (r) => {
      const transports = r.options.transports || this.opts.transports; // null: the client's defaults
      return r.state === 'joined' && r.connected && !(transports && transports.every((t) => t === 'polling'));
    };
    const deadline = Date.now() + upgradeTimeout * 1000;
    while (Date.now() < deadline && fresh.some((r) => wantUpgrade(r) && r.transport() !== 'websocket')) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const errors = {};
    const joinMs = [];
    let last = 0;
    for (const r of fresh) {
      if (r.state === 'joined') {
        joinMs.push((r.tJoined - r.tStart) * 1000);
        last = Math.max(last, r.tJoined);
      } else {
        const key = r.error || r.state;
        errors[key] = (errors[key] || 0) + 1;
      }
    }
    const ok = fresh.filter((r) => r.state === 'joined').length;
    return {
      ok,
      failed: fresh.length - ok,
      t_start: t0,
      t_last_joined: last,
      join_ms_b64: b64(Float32Array.from(joinMs)),
      errors,
      source_ips: [],
      upgraded: fresh.filter((r) => r.state === 'joined' && r.transport() === 'websocket').length,
    };
  }

  stats() {
    const joined = this.residents.filter((r) => r.state === 'joined');
    return {
      received: this.received,
      joined: this.joined,
      held: joined.filter((r) => r.connected).length,
      failed: this.failed,
      dropped: joined.filter((r) => !r.connected).length, // disconnected now (reconnecting, or given up)
      clients: this.residents.length,
      upgraded: joined.filter((r) => r.connected && r.transport() === 'websocket').length,
      pings: this.residents.reduce((n, r) => n + r.pings, 0),
      reconnects: this.residents.reduce((n, r) => n + r.reconnects, 0),
      t: now(),
    };
  }

  records(msg) {
    const since = Number(msg.since || 0);
    const keep = this.lagT.map((t, i) => (t >= since ? i : -1)).filter((i) => i >= 0);
    return {
      residents: this.residents.map((r) => r.dump()),
      lag_t_b64: b64(Float64Array.from(keep.map((i) => this.lagT[i]))),
      lag_ms_b64: b64(Float32Array.from(keep.map((i) => this.lagMs[i]))),
    };
  }

  resident(msg) {
    const r = this.byIdx.get(msg.idx);
    if (!r || !r.socket) throw new Error(`no resident ${msg.idx} here`);
    return r;
  }

  freeze(msg) {
    const r = this.resident(msg);
    r.freeze();
    return { frozen: r.idx, transport: r.transport() };
  }

  emit(msg) {
    const r = this.resident(msg);
    const transport = r.transport();
    return new Promise((resolve) => {
      r.socket.timeout(Number(msg.timeout || 10) * 1000).emit(msg.event, withBinary(msg.payload), (err, reply) => {
        resolve(err ? { error_reply: String(err.message || err), transport } : { reply: plain(reply), transport });
      });
    });
  }

  async close(msg) {
    const t0 = now();
    let closed = 0;
    for (const r of this.residents) {
      if (r.socket) {
        if (r.state === 'joined') closed += 1;
        if (r.state === 'joined' || r.state === 'connecting') r.state = 'closed';
        r.socket.close();
      }
    }
    return { closed, seconds: now() - t0 };
  }
}

async function workerMain() {
  const worker = new Worker();
  const reply = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  reply({ ready: true, pid: process.pid, nofile: null });
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  const handlers = {
    connect: (m) => worker.connect(m),
    stats: (m) => worker.stats(m),
    records: (m) => worker.records(m),
    freeze: (m) => worker.freeze(m),
    emit: (m) => worker.emit(m),
    close: (m) => worker.close(m),
  };
  for await (const line of rl) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    if (msg.cmd === 'exit') break;
    const run = async () => {
      let res;
      try {
        const handler = handlers[msg.cmd];
        res = handler ? await handler(msg) : { error: `unknown command ${JSON.stringify(msg.cmd)}` };
      } catch (err) {
        res = { error: `${err.name}: ${err.message}` };
      }
      res.id = msg.id;
      reply(res);
    };
    run(); // commands run concurrently: "stats" is answered while "connect" is in progress
  }
  await worker.close({});
  process.exit(0);
}

async function standalone(configPath, hold) {
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  const worker = new Worker();
  const clients = config.clients.map((c, i) => [i, c.url || config.url, c.room || '', c.auth || {}, c.headers || null,
    c.seq_offset || 0, c.options || null]);
  const joined = await worker.connect({ ...config, clients });
  await new Promise((resolve) => setTimeout(resolve, hold * 1000));
  const residents = worker.residents.map((r) => ({
    ...r.summary(),
    events: r.seqs.map((seq, i) => ({ seq, t: r.times[i], replay: r.sources[i] === 1 })),
  }));
  await worker.close({});
  process.stdout.write(`${JSON.stringify({ joined: joined.ok, failed: joined.failed, errors: joined.errors,
    upgraded: joined.upgraded, residents }, null, 1)}\n`);
  process.exit(0);
}

const args = process.argv.slice(2);
if (args.includes('--worker')) {
  workerMain();
} else if (args.includes('--config')) {
  const hold = args.includes('--hold') ? Number(args[args.indexOf('--hold') + 1]) : 10;
  standalone(args[args.indexOf('--config') + 1], Math.min(Math.max(0, hold), 3600));
} else {
  process.stderr.write('usage: node residents.js --worker | --config FILE [--hold SECONDS]\n');
  process.exit(2);
}
