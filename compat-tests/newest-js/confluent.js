// @confluentinc/kafka-javascript driven by test_newest_js.py: `node confluent.js <command> <json options>`,
// the same commands as platformatic.mjs. Producers, group consumers, transactions and the admin
// client use its KafkaJS-style promise API; `read` (assign at an offset) uses its
// node-rdkafka-style KafkaConsumer. Prints one JSON object a line; a failure is a line
// {"event": "error", ...} and exit status 1.
'use strict'
const ckjs = require('@confluentinc/kafka-javascript')
const { Kafka, CompressionTypes } = ckjs.KafkaJS

const [cmd, raw] = process.argv.slice(2)
const opts = JSON.parse(raw)
let stepIndex = 0
const out = (o) => process.stdout.write(JSON.stringify({ ...o, step: stepIndex },
  (k, v) => (typeof v === 'bigint' ? Number(v) : v)) + '\n')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const kafka = new Kafka({ kafkaJS: { brokers: opts.brokers, clientId: 'runnel-compat-' + cmd, logLevel: 1 } })
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.SNAPPY,
  lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD }

function records (tag, count, partition, spread) {
  return Array.from({ length: count }, (_, i) => ({
    partition: spread ? i % spread : (partition ?? undefined),
    key: Buffer.from(`k-${tag}-${i}`),
    value: Buffer.from(`v-${tag}-${i}-`.repeat(1 + (i % 7))),
    headers: { h: Buffer.from(`${tag}/${i}`) }
  }))
}

function msgJSON (partition, m) {
  const h = Array.isArray(m.headers) ? m.headers.flatMap((x) => Object.entries(x)) : Object.entries(m.headers ?? {})
  return { event: 'msg', p: partition, o: Number(m.offset), k: m.key?.toString(), v: m.value?.toString(),
    h: h.map(([hk, hv]) => [hk, Buffer.from(hv).toString()]) }
}

async function waitUntil (cond, ms) {
  const deadline = Date.now() + ms
  while (!cond() && Date.now() < deadline) await sleep(20)
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
    const producer = kafka.producer({ kafkaJS: { idempotent: !!opts.idempotent, acks: -1,
      compression: CODECS[opts.codec ?? 'none'] }, 'linger.ms': 5 })
    await producer.connect()
    try {
      const msgs = records(opts.tag, opts.count, opts.partition, opts.spread)
      const chunk = opts.chunk ?? 1
      for (let i = 0; i < msgs.length; i += chunk) {
        const res = await producer.send({ topic: opts.topic, messages: msgs.slice(i, i + chunk) })
        // one entry per partition, with the base offset of what this send wrote there
        for (const r of res) out({ event: 'sent', i, p: r.partition, o: Number(r.baseOffset ?? r.offset) })
      }
    } finally {
      await producer.disconnect()
    }
  },

  async read (opts) {
    const consumer = new ckjs.KafkaConsumer({ 'bootstrap.servers': opts.brokers.join(','), 'group.id': 'assign-reader',
      'enable.auto.commit': false, 'isolation.level': opts.isolation }, {})
    await new Promise((resolve, reject) => consumer.connect({ timeout: 15000 }, (err) => (err ? reject(err) : resolve())))
    try {
      consumer.assign([{ topic: opts.topic, partition: opts.partition, offset: opts.start }])
      const got = []
      const deadline = Date.now() + 30000
      let lingerEnd = null
      while (Date.now() < deadline && (lingerEnd === null || Date.now() < lingerEnd)) {
        const msgs = await new Promise((resolve, reject) => consumer.consume(100, (err, m) => (err ? reject(err) : resolve(m))))
        got.push(...msgs)
        if (got.length >= opts.expect && lingerEnd === null) lingerEnd = Date.now() + 500
        if (!msgs.length) await sleep(50)
      }
      for (const m of got) out(msgJSON(m.partition, m))
    } finally {
      await new Promise((resolve) => consumer.disconnect(resolve))
    }
  },

  async group (opts) {
    const consumer = kafka.consumer({ kafkaJS: { groupId: opts.group, fromBeginning: true, autoCommit: false,
      sessionTimeout: 10000 } })
    await consumer.connect()
    const got = []
    try {
      await consumer.subscribe({ topics: [opts.topic] })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push(msgJSON(partition, message))
          await consumer.commitOffsets([{ topic: opts.topic, partition, offset: String(Number(message.offset) + 1) }])
        }
      })
      await waitUntil(() => got.length >= opts.expect, 30000)
      await sleep(10)
    } finally {
      await consumer.disconnect()
    }
    for (const m of got) out(m)
  },

  async member (opts) {
    const consumer = kafka.consumer({ kafkaJS: { groupId: opts.group, fromBeginning: true, autoCommit: false,
      sessionTimeout: 10000 } })
    await consumer.connect()
    await consumer.subscribe({ topics: [opts.topic] })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        await consumer.commitOffsets([{ topic: opts.topic, partition, offset: String(Number(message.offset) + 1) }])
        out(msgJSON(partition, message))
      }
    })
    let last = ''
    const timer = setInterval(() => {
      const a = consumer.assignment().map((tp) => tp.partition).sort()
      if (JSON.stringify(a) !== last) { last = JSON.stringify(a); out({ event: 'assignment', partitions: a }) }
    }, 50)
    await commandsFromStdin()
    clearInterval(timer)
    await consumer.disconnect()
  },

  async txn (opts) {
    const producer = kafka.producer({ kafkaJS: { idempotent: true, transactionalId: opts.transactional_id, acks: -1 } })
    await producer.connect()
    try {
      for (const run of opts.runs) {
        const t = await producer.transaction()
        for (let i = 0; i < run.count; i++) {
          const res = await t.send({ topic: opts.topic, messages: [{ partition: i % 2, key: `${i}`, value: `${run.tag}-${i}` }] })
          for (const r of res) out({ event: 'sent', tag: run.tag, i, p: r.partition, o: Number(r.baseOffset ?? r.offset) })
        }
        if (run.commit) await t.commit(); else await t.abort()
        out({ event: run.commit ? 'committed' : 'aborted', tag: run.tag })
      }
    } finally {
      await producer.disconnect()
    }
  },

  // Admin calls, [name, args] each; createTopics takes platformatic.mjs's arguments.
  async admin (opts) {
    const admin = kafka.admin()
    await admin.connect()
    const call = async (name, fn) => {
      const t0 = Date.now()
      try {
        out({ event: 'call', name, ok: true, result: await fn(), ms: Date.now() - t0 })
      } catch (e) {
        // deleteTopicRecords puts each partition's librdkafka error in e.partitions
        out({ event: 'call', name, ok: false, error: e.constructor.name, code: e.code, type: e.type,
          message: String(e.message), partitions: (e.partitions ?? []).map((p) => ({ partition: p.partition,
            code: p.error?.code, type: p.error?.type, message: String(p.error?.message) })), ms: Date.now() - t0 })
      }
    }
    try {
      for (const [name, args] of opts.steps) {
        if (name === 'createTopics') {
          await call(name, () => admin.createTopics({ topics: args.topics.map((topic) => ({ topic,
            numPartitions: args.partitions, replicationFactor: args.replicas, configEntries: args.configs })) }))
        } else {
          await call(name, () => admin[name](args))
        }
      }
    } finally {
      await admin.disconnect()
    }
  },

  async multi (opts) {
    for (const [i, [name, o]] of opts.steps.entries()) {
      stepIndex = i
      await commands[name]({ ...o, brokers: opts.brokers })
    }
  }
}

commands[cmd](opts).then(() => process.exit(0), (e) => {
  out({ event: 'error', error: e.constructor.name, code: e.code, message: String(e.message) })
  process.exit(1)
})
