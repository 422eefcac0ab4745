// @platformatic/kafka driven by test_newest_js.py: `node platformatic.mjs <command> <json options>`.
// Prints one JSON object a line; a failure is a line {"event": "error", ...} and exit status 1.
import { Admin, Consumer, MessagesStreamModes, Producer, ProduceAcks, FetchIsolationLevels } from '@platformatic/kafka'

const [cmd, raw] = process.argv.slice(2)
// A string like "-1n" in the options is a BigInt (offsets and timestamps).
const opts = JSON.parse(raw, (k, v) => (typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v))
const base = { clientId: 'runnel-compat-' + cmd, bootstrapBrokers: opts.brokers, timeout: 15000, retries: 3 }
let stepIndex = 0 // which command of a `multi` printed a line
const out = (o) => process.stdout.write(JSON.stringify({ ...o, step: stepIndex },
  (k, v) => (typeof v === 'bigint' ? Number(v) : v instanceof Map ? Object.fromEntries(v) : v)) + '\n')
// An error with the errors inside it (MultipleErrors nests them), as far down as they go.
const describe = (e) => ({ error: e.constructor.name, code: e.code, message: String(e.message),
  apiCode: e.apiCode, errors: (e.errors ?? []).map(describe) })
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function records (topic, tag, count, partition, spread) {
  return Array.from({ length: count }, (_, i) => ({
    topic,
    partition: spread ? i % spread : partition,
    key: Buffer.from(`k-${tag}-${i}`),
    value: Buffer.from(`v-${tag}-${i}-`.repeat(1 + (i % 7))),
    headers: new Map([[Buffer.from('h'), Buffer.from(`${tag}/${i}`)]])
  }))
}

function msgJSON (m) {
  return {
    event: 'msg', p: m.partition, o: Number(m.offset), k: m.key?.toString(), v: m.value?.toString(),
    h: [...(m.headers ?? new Map())].map(([hk, hv]) => [hk.toString(), hv.toString()])
  }
}

// Reads from a stream until `expect` messages came, then `linger` ms more (anything then is extra).
async function collect (stream, expect, lingerMs, timeoutMs, onMessage) {
  const got = []
  let lingerTimer = null
  await new Promise((resolve, reject) => {
    const deadline = setTimeout(resolve, timeoutMs)
    stream.on('data', async (m) => {
      got.push(m)
      if (onMessage) await onMessage(m)
      if (got.length >= expect && !lingerTimer) lingerTimer = setTimeout(() => { clearTimeout(deadline); resolve() }, lingerMs)
    })
    stream.on('error', reject)
  })
  return got
}

// A member also runs the commands it reads on stdin, one JSON [command, options] a line (so
// the test need not start another Node for them), until stdin ends.
async function commandsFromStdin () {
  const readline = await import('node:readline')
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line.trim()) continue
    const [name, o] = JSON.parse(line)
    await commands[name]({ ...o, brokers: opts.brokers })
    out({ event: 'done', command: name })
  }
}

const commands = {
  async produce (opts) {
    const producer = new Producer({ ...base, idempotent: !!opts.idempotent, acks: ProduceAcks.ALL,
      compression: opts.codec === 'none' ? undefined : opts.codec })
    try {
      const msgs = records(opts.topic, opts.tag, opts.count, opts.partition, opts.spread)
      // One record a send: its acknowledged offset is the record's own.
      const chunk = opts.chunk ?? 1
      for (let i = 0; i < msgs.length; i += chunk) {
        const res = await producer.send({ messages: msgs.slice(i, i + chunk) })
        for (const o of res.offsets ?? []) out({ event: 'sent', i, p: o.partition, o: o.offset })
      }
    } finally {
      await producer.close()
    }
  },

  async read (opts) {
    const consumer = new Consumer({ ...base, groupId: 'assign-reader-' + process.pid, autocommit: false,
      maxWaitTime: 200, isolationLevel: opts.isolation === 'read_committed' ? FetchIsolationLevels.READ_COMMITTED : FetchIsolationLevels.READ_UNCOMMITTED })
    try {
      const stream = await consumer.consume({ topics: [opts.topic], mode: MessagesStreamModes.MANUAL,
        offsets: [{ topic: opts.topic, partition: opts.partition, offset: BigInt(opts.start) }] })
      const got = await collect(stream, opts.expect, 500, 30000)
      await stream.close()
      for (const m of got) out(msgJSON(m))
    } finally {
      await consumer.close(true)
    }
  },

  async group (opts) {
    const consumer = new Consumer({ ...base, groupId: opts.group, autocommit: false, maxWaitTime: 200,
      sessionTimeout: 10000, heartbeatInterval: 500 })
    try {
      const stream = await consumer.consume({ topics: [opts.topic], mode: MessagesStreamModes.COMMITTED,
        fallbackMode: 'earliest' })
      const got = await collect(stream, opts.expect, 10, 30000, (m) => m.commit())
      await stream.close()
      for (const m of got) out(msgJSON(m))
    } finally {
      await consumer.close(true)
    }
  },

  // A group member until stdin closes: prints its assignment and every record (committed).
  async member (opts) {
    const consumer = new Consumer({ ...base, groupId: opts.group, autocommit: false, maxWaitTime: 200,
      sessionTimeout: 10000, heartbeatInterval: 500 })
    const assignment = () => (consumer.assignments ?? []).flatMap((a) => a.partitions).sort()
    let last = ''
    const stream = await consumer.consume({ topics: [opts.topic], mode: MessagesStreamModes.COMMITTED,
      fallbackMode: 'earliest' })
    stream.on('data', async (m) => { await m.commit(); out(msgJSON(m)) })
    const timer = setInterval(() => {
      const a = JSON.stringify(assignment())
      if (a !== last) { last = a; out({ event: 'assignment', partitions: assignment() }) }
    }, 50)
    await commandsFromStdin()
    clearInterval(timer)
    await stream.close()
    await consumer.close(true)
  },

  async txn (opts) {
    const producer = new Producer({ ...base, idempotent: true, transactionalId: opts.transactional_id,
      acks: ProduceAcks.ALL })
    try {
      for (const run of opts.runs) {
        const t = await producer.beginTransaction()
        for (let i = 0; i < run.count; i++) {
          const res = await t.send({ messages: [{ topic: opts.topic, partition: i % 2, key: Buffer.from(`${i}`),
            value: Buffer.from(`${run.tag}-${i}`) }] })
          for (const o of res.offsets ?? []) out({ event: 'sent', tag: run.tag, i, p: o.partition, o: o.offset })
        }
        if (run.commit) await t.commit(); else await t.abort()
        out({ event: run.commit ? 'committed' : 'aborted', tag: run.tag })
      }
    } finally {
      await producer.close()
    }
  },

  async admin (opts) {
    const admin = new Admin(base)
    const call = async (name, fn) => {
      const t0 = Date.now()
      try {
        out({ event: 'call', name, ok: true, result: await fn(), ms: Date.now() - t0 })
      } catch (e) {
        out({ event: 'call', name, ok: false, ...describe(e), ms: Date.now() - t0 })
      }
    }
    try {
      for (const [name, args] of opts.steps) await call(name, () => admin[name](args))
    } finally {
      await admin.close()
    }
  },

  // Several commands in one process (each Node start costs seconds on a loaded machine).
  async multi (opts) {
    for (const [i, [name, o]] of opts.steps.entries()) {
      stepIndex = i
      await commands[name]({ ...o, brokers: opts.brokers })
    }
  }
}

try {
  await commands[cmd](opts)
  process.exit(0)
} catch (e) {
  out({ event: 'error', ...describe(e) })
  process.exit(1)
}
