#!/usr/bin/env node
// kafkajs against a Runnel broker, driven by compat-tests/test_kafkajs.py.
//
//   node kafkajs_client.js <command> '<json options>'
//
// Every command prints one JSON object per line on stdout and exits 0 on success; a failure
// prints the error on stderr and exits 1. KAFKAJS_DEBUG=1 turns on kafkajs's DEBUG log (stderr),
// which shows every request and response kafkajs sends and receives.
//
// Commands:
//   create-topic {brokers, topic, partitions}
//   produce      {brokers, topic, partitions, tag, first, count, compression, chunk}
//                -> {"event":"sent","i":..,"p":..,"o":..} per record (offsets from the acks)
//   offsets      {brokers, topic, group?}
//                -> {"event":"offsets","high":{p:..},"low":{p:..},"committed":{p:..}}
//   consume      {brokers, group, topic, expect, linger_ms, wait_release, timeout_ms}
//                -> {"event":"join",..} on every group join, {"event":"msg",..} per record,
//                   {"event":"done",..} once `expect` records were read and nothing more came
//                   within linger_ms; with wait_release the consumer then stays in the group
//                   until its stdin is closed.
'use strict'

const { Kafka, logLevel, CompressionTypes, CompressionCodecs, Partitioners } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec

const CODECS = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
}

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

// The record i of a run tagged `tag`; test_kafkajs.py computes the same bytes.
function record(tag, i) {
  const bin = Buffer.alloc((i * 7) % 97)
  for (let j = 0; j < bin.length; j++) bin[j] = (i * 13 + j) & 0xff
  return {
    key: Buffer.from(`kjs-${tag}-key-${i}`),
    value: Buffer.concat([Buffer.from(`kjs-${tag}-value-${i}-`), bin]),
    headers: { idx: Buffer.from(String(i)), tag: Buffer.from(tag) },
  }
}

async function createTopic(opts) {
  const admin = client(opts, 'runnel-kjs-admin').admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [{ topic: opts.topic, numPartitions: opts.partitions, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: 15000,
    })
    const md = await admin.fetchTopicMetadata({ topics: [opts.topic] })
    const parts = md.topics[0].partitions.map(p => p.partitionId).sort((a, b) => a - b)
    out({ event: 'created', created, partitions: parts })
  } finally {
    await admin.disconnect()
  }
}

async function produce(opts) {
  const producer = client(opts, 'runnel-kjs-producer').producer({
    allowAutoTopicCreation: false,
    idempotent: false,
  })
  await producer.connect()
  try {
    const compression = CODECS[opts.compression]
    if (compression === undefined) throw new Error(`unknown compression ${opts.compression}`)
    const chunk = opts.chunk || opts.count
    // The same partitioner as the producer's default, to tell which partition each record went to.
    const partitioner = Partitioners.DefaultPartitioner()
    const partitionMetadata = []
    for (let p = 0; p < opts.partitions; p++) partitionMetadata.push({ partitionId: p, leader: 0 })
    for (let start = opts.first; start < opts.first + opts.count; start += chunk) {
      const end = Math.min(start + chunk, opts.first + opts.count)
      const messages = []
      for (let i = start; i < end; i++) messages.push(record(opts.tag, i))
      const acks = await producer.send({ topic: opts.topic, compression, acks: -1, timeout: 20000, messages })
      // kafkajs's default partitioner picks each record's partition from its key; the records of
      // one partition are appended in send order from the acknowledged base offset.
      const base = {}
      for (const a of acks) {
        if (a.errorCode !== 0) throw new Error(`produce ack with error ${JSON.stringify(a)}`)
        base[a.partition] = BigInt(a.baseOffset)
      }
      const next = { ...base }
      for (let i = start; i < end; i++) {
        const p = partitioner({ topic: opts.topic, partitionMetadata, message: messages[i - start] })
        if (next[p] === undefined) throw new Error(`record ${i} maps to partition ${p}, which has no ack`)
        out({ event: 'sent', i, p, o: String(next[p]) })
        next[p] += 1n
      }
    }
  } finally {
    await producer.disconnect()
  }
}

async function offsets(opts) {
  const admin = client(opts, 'runnel-kjs-admin').admin()
  await admin.connect()
  try {
    const high = {}
    const low = {}
    for (const p of await admin.fetchTopicOffsets(opts.topic)) {
      high[p.partition] = p.high
      low[p.partition] = p.low
    }
    const res = { event: 'offsets', high, low }
    if (opts.group) {
      res.committed = {}
      const got = await admin.fetchOffsets({ groupId: opts.group, topics: [opts.topic] })
      for (const t of got) for (const p of t.partitions) res.committed[p.partition] = p.offset
      const described = await admin.describeGroups([opts.group])
      const g = described.groups[0]
      res.group = { state: g.state, protocolType: g.protocolType, errorCode: g.errorCode, members: g.members.length }
    }
    out(res)
  } finally {
    await admin.disconnect()
  }
}

async function consume(opts) {
  const kafka = client(opts, opts.client_id || 'runnel-kjs-consumer')
  const consumer = kafka.consumer({
    groupId: opts.group,
    sessionTimeout: opts.session_timeout_ms || 6000,
    rebalanceTimeout: opts.rebalance_timeout_ms || 10000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  })
  const { GROUP_JOIN, CRASH } = consumer.events
  let crashed = null
  consumer.on(GROUP_JOIN, e => {
    const p = e.payload
    out({ event: 'join', memberId: p.memberId, isLeader: p.isLeader, assignment: p.memberAssignment })
  })
  consumer.on(CRASH, e => {
    crashed = e.payload.error
  })
  let count = 0
  let lastAt = Date.now()
  await consumer.connect()
  await consumer.subscribe({ topics: [opts.topic], fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      count++
      lastAt = Date.now()
      const headers = {}
      for (const [k, v] of Object.entries(message.headers || {})) headers[k] = Buffer.from(v).toString('hex')
      out({
        event: 'msg',
        t: topic,
        p: partition,
        o: message.offset,
        k: message.key === null ? null : message.key.toString('hex'),
        v: message.value === null ? null : message.value.toString('hex'),
        h: headers,
      })
    },
  })
  const deadline = Date.now() + (opts.timeout_ms || 60000)
  const linger = opts.linger_ms === undefined ? 1000 : opts.linger_ms
  for (;;) {
    if (crashed) throw crashed
    if (count >= opts.expect && Date.now() - lastAt >= linger) break
    if (Date.now() > deadline) {
      await consumer.disconnect()
      throw new Error(`read ${count} records, expected ${opts.expect}, within ${opts.timeout_ms} ms`)
    }
    await new Promise(r => setTimeout(r, 50))
  }
  out({ event: 'done', count })
  if (opts.wait_release) {
    await new Promise(resolve => {
      process.stdin.on('end', resolve)
      process.stdin.on('close', resolve)
      process.stdin.resume()
    })
  }
  await consumer.disconnect()
  out({ event: 'closed', count })
}

async function main() {
  const [cmd, json] = process.argv.slice(2)
  const opts = JSON.parse(json || '{}')
  const commands = { 'create-topic': createTopic, produce, offsets, consume }
  if (!commands[cmd]) throw new Error(`unknown command ${cmd}`)
  await commands[cmd](opts)
}

main().then(
  () => process.exit(0),
  e => {
    process.stderr.write(`kafkajs_client: ${e && e.stack ? e.stack : e}\n`)
    if (e && e.originalError) process.stderr.write(`original error: ${e.originalError.stack || e.originalError}\n`)
    process.exit(1)
  })
