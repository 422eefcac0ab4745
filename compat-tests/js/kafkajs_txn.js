#!/usr/bin/env node
// kafkajs idempotent and transactional producers against a Runnel broker, driven by
// compat-tests/test_txn_clients.py.
//
//   node kafkajs_txn.js <command> '<json options>'
//
// Every command prints one JSON object per line on stdout and exits 0 on success; a failure
// prints the error on stderr and exits 1. KAFKAJS_DEBUG=1 turns on kafkajs's DEBUG log (stderr).
//
// Commands:
//   create-topic {brokers, topic, partitions}
//   idempotent   {brokers, topic, partitions, tag, count, chunk}
//                -> {"event":"sent","i":..,"p":..,"o":..} per record; record i goes to partition
//                   i % partitions, the offsets come from the acks
//   txn          {brokers, topic, partitions, transactional_id, runs: [{tag, count, commit}]}
//                -> per run, one transaction: record i of the run goes to partition i % partitions;
//                   {"event":"sent",..} per record, then {"event":"committed"|"aborted","tag":..}
//   ctp          {brokers, in_topic, out_topic, group, transactional_id, expect, timeout_ms}
//                consume-transform-produce: a read-committed group consumer reads `expect` records
//                of in_topic; one transaction writes each value with the prefix "out-" to out_topic
//                (same partition), sends the consumed offsets for `group` and commits
//                -> {"event":"in",..} per record read, {"event":"offsets","offsets":{p: next}},
//                   {"event":"committed"}
//   consume      {brokers, group, topic, expect, linger_ms, timeout_ms, read_uncommitted}
//                -> {"event":"msg",..} per record, {"event":"done","count":..}
//   offsets      {brokers, topic, group}
//                -> {"event":"offsets","high":{p:..},"committed":{p:..}}
'use strict'

const { Kafka, logLevel } = require('kafkajs')

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function client(opts, id) {
  const debug = process.env.KAFKAJS_DEBUG === '1'
  return new Kafka({
    clientId: id,
    brokers: opts.brokers,
    logLevel: debug ? logLevel.DEBUG : logLevel.ERROR,
    logCreator: level => entry => {
      const { message, ...rest } = entry.log
      process.stderr.write(
        JSON.stringify({ level: logLevel[level] || level, ns: entry.namespace, message, ...rest }) + '\n')
    },
    connectionTimeout: 5000,
    requestTimeout: 20000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 },
  })
}

// Record i of a run tagged `tag`; test_txn_clients.py computes the same bytes.
function record(tag, i, partitions) {
  return {
    partition: i % partitions,
    key: Buffer.from(`kjs-${tag}-key-${i}`),
    value: Buffer.from(`kjs-${tag}-value-${i}`),
  }
}

function reportAcks(acks, messages, first, opts) {
  // kafkajs answers one entry per partition with the base offset of what it appended there; the
  // records of one partition got consecutive offsets in send order.
  const next = {}
  for (const a of acks) {
    if (a.errorCode !== 0) throw new Error(`produce ack with error ${JSON.stringify(a)}`)
    next[a.partition] = BigInt(a.baseOffset)
  }
  messages.forEach((m, n) => {
    if (next[m.partition] === undefined) throw new Error(`no ack for partition ${m.partition}`)
    out({ event: 'sent', tag: opts.tag, i: first + n, p: m.partition, o: String(next[m.partition]) })
    next[m.partition] += 1n
  })
}

async function createTopic(opts) {
  const admin = client(opts, 'runnel-kjs-txn-admin').admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [{ topic: opts.topic, numPartitions: opts.partitions, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: 15000,
    })
    out({ event: 'created', topic: opts.topic })
  } finally {
    await admin.disconnect()
  }
}

async function idempotent(opts) {
  const producer = client(opts, 'runnel-kjs-idempotent').producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  try {
    const chunk = opts.chunk || opts.count
    for (let start = 0; start < opts.count; start += chunk) {
      const end = Math.min(start + chunk, opts.count)
      const messages = []
      for (let i = start; i < end; i++) messages.push(record(opts.tag, i, opts.partitions))
      const acks = await producer.send({ topic: opts.topic, acks: -1, timeout: 20000, messages })
      reportAcks(acks, messages, start, opts)
    }
  } finally {
    await producer.disconnect()
  }
}

async function txn(opts) {
  const producer = client(opts, 'runnel-kjs-txn').producer({
    allowAutoTopicCreation: false,
    transactionalId: opts.transactional_id,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 30000,
  })
  await producer.connect()
  try {
    for (const run of opts.runs) {
      const t = await producer.transaction()
      const messages = []
      for (let i = 0; i < run.count; i++) messages.push(record(run.tag, i, opts.partitions))
      const acks = await t.send({ topic: opts.topic, acks: -1, timeout: 20000, messages })
      reportAcks(acks, messages, 0, { tag: run.tag })
      if (run.commit) {
        await t.commit()
        out({ event: 'committed', tag: run.tag })
      } else {
        await t.abort()
        out({ event: 'aborted', tag: run.tag })
      }
    }
  } finally {
    await producer.disconnect()
  }
}

function msgEvent(topic, partition, message) {
  return {
    event: 'msg',
    t: topic,
    p: partition,
    o: message.offset,
    k: message.key === null ? null : message.key.toString(),
    v: message.value === null ? null : message.value.toString(),
  }
}

async function waitFor(cond, timeoutMs, what, crashed) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (crashed()) throw crashed()
    if (cond()) return
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`)
    await new Promise(r => setTimeout(r, 50))
  }
}

async function consume(opts) {
  const consumer = client(opts, 'runnel-kjs-txn-consumer').consumer({
    groupId: opts.group,
    readUncommitted: !!opts.read_uncommitted,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  })
  let crashed = null
  consumer.on(consumer.events.CRASH, e => {
    crashed = e.payload.error
  })
  let count = 0
  let lastAt = Date.now()
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [opts.topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        count++
        lastAt = Date.now()
        out(msgEvent(topic, partition, message))
      },
    })
    const linger = opts.linger_ms === undefined ? 1000 : opts.linger_ms
    await waitFor(() => count >= opts.expect && Date.now() - lastAt >= linger, opts.timeout_ms || 60000,
      `read ${count} records, expected ${opts.expect},`, () => crashed)
    out({ event: 'done', count })
  } finally {
    await consumer.disconnect()
  }
}

async function ctp(opts) {
  const kafka = client(opts, 'runnel-kjs-ctp')
  const consumer = kafka.consumer({
    groupId: opts.group,
    readUncommitted: false,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  })
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    transactionalId: opts.transactional_id,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  let crashed = null
  consumer.on(consumer.events.CRASH, e => {
    crashed = e.payload.error
  })
  const read = []
  await producer.connect()
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [opts.in_topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        read.push({ partition, message })
        out({ ...msgEvent(topic, partition, message), event: 'in' })
      },
    })
    await waitFor(() => read.length >= opts.expect, opts.timeout_ms || 60000,
      `the consumer read ${read.length} of ${opts.expect} records`, () => crashed)
    const batch = read.slice(0, opts.expect)
    const next = {}
    for (const { partition, message } of batch) {
      const o = BigInt(message.offset) + 1n
      if (next[partition] === undefined || o > next[partition]) next[partition] = o
    }
    const t = await producer.transaction()
    try {
      const messages = batch.map(({ partition, message }) => ({
        partition,
        key: message.key,
        value: Buffer.concat([Buffer.from('out-'), message.value]),
      }))
      await t.send({ topic: opts.out_topic, acks: -1, timeout: 20000, messages })
      const partitions = Object.entries(next).map(([p, o]) => ({ partition: Number(p), offset: String(o) }))
      await t.sendOffsets({ consumerGroupId: opts.group, topics: [{ topic: opts.in_topic, partitions }] })
      out({ event: 'offsets', offsets: Object.fromEntries(Object.entries(next).map(([p, o]) => [p, String(o)])) })
      await t.commit()
    } catch (e) {
      await t.abort().catch(() => {})
      throw e
    }
    out({ event: 'committed' })
  } finally {
    await consumer.disconnect()
    await producer.disconnect()
  }
}

async function offsets(opts) {
  const admin = client(opts, 'runnel-kjs-txn-admin').admin()
  await admin.connect()
  try {
    const high = {}
    for (const p of await admin.fetchTopicOffsets(opts.topic)) high[p.partition] = p.high
    const res = { event: 'offsets', high, committed: {} }
    if (opts.group) {
      const got = await admin.fetchOffsets({ groupId: opts.group, topics: [opts.topic] })
      for (const t of got) for (const p of t.partitions) res.committed[p.partition] = p.offset
    }
    out(res)
  } finally {
    await admin.disconnect()
  }
}

async function main() {
  const [cmd, json] = process.argv.slice(2)
  const opts = JSON.parse(json || '{}')
  const commands = { 'create-topic': createTopic, idempotent, txn, ctp, consume, offsets }
  if (!commands[cmd]) throw new Error(`unknown command ${cmd}`)
  await commands[cmd](opts)
}

main().then(
  () => process.exit(0),
  e => {
    process.stderr.write(`kafkajs_txn: ${e && e.stack ? e.stack : e}\n`)
    if (e && e.originalError) process.stderr.write(`original error: ${e.originalError.stack || e.originalError}\n`)
    process.exit(1)
  })
