#!/usr/bin/env node
// A real NIP-46 client for the end-to-end tests: nostr-tools' BunkerSigner driven by a
// JSON script, printing one JSON line per step on stdout (diagnostics go to stderr).
//
// Script (argv[2]: JSON text or a file name; absent or "-": stdin):
//   { "bunker": "bunker://<pk>?relay=...&secret=..."          // remote-signer initiated, or
//     "nostrconnect": {"relays": [...], "secret": "...", "perms": [...], "name": "..."},
//     "clientSecretKey": "<64 hex>",      // optional, default random
//     "timeout": 10000,                   // ms per call (BunkerSigner itself has none)
//     "totalTimeout": 120000,             // ms for the whole script, then exit 3
//     "calls": [ {"op": "connect", "args": [], "timeout": 5000}, ... ] }
// ops: connect([metadata]), getPublicKey, signEvent(template), ping, logout, switchRelays,
//      nip04Encrypt/nip04Decrypt/nip44Encrypt/nip44Decrypt(pubkey, text),
//      sendRequest(method, params) for anything else (switch_relays, unknown methods...),
//      sleep(ms), close.
// Output lines:
//   {"op":"init","clientPubkey":...,"bunker":{pubkey,relays,secret}}        (bunker://)
//   {"op":"uri","uri":"nostrconnect://...","clientPubkey":...}             (nostrconnect)
//   {"op":"fromURI","ok":true,"signer":<pk>,"ms":...} | {"op":"fromURI","ok":false,...}
//   {"i":n,"op":...,"ok":true,"result":...,"ms":...}
//   {"i":n,"op":...,"ok":false,"error":"...","timeout":bool,"ms":...}
//   {"op":"end","failed":k}          exit 0; 2 = bad script; 3 = totalTimeout
import { readFileSync } from 'node:fs'
import WebSocket from 'ws'
import { useWebSocketImplementation, SimplePool } from 'nostr-tools/pool'
import { BunkerSigner, parseBunkerInput, createNostrConnectURI } from 'nostr-tools/nip46'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'
import { hexToBytes } from 'nostr-tools/utils'

// Node 20 has no global WebSocket.
useWebSocketImplementation(WebSocket)

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

process.on('unhandledRejection', (e) => console.error('unhandled rejection:', e?.message || e))

class Timeout extends Error {}

function withTimeout(promise, ms) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Timeout(`timed out after ${ms} ms`)), ms) }),
  ]).finally(() => clearTimeout(timer))
}

function readScript() {
  const arg = process.argv[2]
  let text
  if (arg === undefined || arg === '-') text = readFileSync(0, 'utf8')
  else if (arg.trimStart().startsWith('{')) text = arg
  else text = readFileSync(arg, 'utf8')
  return JSON.parse(text)
}

function errorText(e) {
  if (e instanceof AggregateError) return 'AggregateError: ' + e.errors.map((x) => String(x?.message || x)).join('; ')
  return typeof e === 'string' ? e : String(e?.message || e)
}

async function step(signer, call) {
  const a = call.args || []
  switch (call.op) {
    case 'connect': return signer.connect(a[0])
    case 'getPublicKey': return signer.getPublicKey()
    case 'signEvent': return signer.signEvent(a[0])
    case 'ping': return signer.ping()
    case 'logout': return signer.logout()
    case 'switchRelays': return signer.switchRelays()
    case 'nip04Encrypt': return signer.nip04Encrypt(a[0], a[1])
    case 'nip04Decrypt': return signer.nip04Decrypt(a[0], a[1])
    case 'nip44Encrypt': return signer.nip44Encrypt(a[0], a[1])
    case 'nip44Decrypt': return signer.nip44Decrypt(a[0], a[1])
    case 'sendRequest': return signer.sendRequest(a[0], a[1] || [])
    case 'sleep': return new Promise((r) => setTimeout(r, a[0] || 0))
    case 'close': return signer.close()
    default: throw new Error(`unknown op ${call.op}`)
  }
}

async function main() {
  let script
  try {
    script = readScript()
  } catch (e) {
    emit({ op: 'error', error: 'bad script: ' + errorText(e) })
    return 2
  }
  const perCall = script.timeout || 10000
  const total = script.totalTimeout || 120000
  setTimeout(() => { emit({ op: 'end', error: `total timeout ${total} ms` }); process.exit(3) }, total).unref()

  const sk = script.clientSecretKey ? hexToBytes(script.clientSecretKey) : generateSecretKey()
  const clientPubkey = getPublicKey(sk)
  const pool = new SimplePool()
  const params = { pool, onauth: (url) => emit({ op: 'auth_url', url }) }
  let signer

  if (script.bunker) {
    const bp = await parseBunkerInput(script.bunker)
    if (!bp) {
      emit({ op: 'error', error: 'nostr-tools could not parse the bunker URL' })
      return 2
    }
    emit({ op: 'init', clientPubkey, bunker: bp })
    signer = BunkerSigner.fromBunker(sk, bp, params)
  } else if (script.nostrconnect) {
    const nc = script.nostrconnect
    const uri = createNostrConnectURI({
      clientPubkey, relays: nc.relays, secret: nc.secret, perms: nc.perms, name: nc.name, url: nc.url,
    })
    emit({ op: 'uri', uri, clientPubkey })
    const t0 = Date.now()
    const wait = nc.timeout || perCall
    try {
      signer = await withTimeout(BunkerSigner.fromURI(sk, uri, params, wait), wait)
      emit({ op: 'fromURI', ok: true, signer: signer.bp.pubkey, relays: signer.bp.relays, ms: Date.now() - t0 })
    } catch (e) {
      emit({ op: 'fromURI', ok: false, error: errorText(e), timeout: e instanceof Timeout, ms: Date.now() - t0 })
      emit({ op: 'end', failed: 1 })
      return 0
    }
  } else {
    emit({ op: 'error', error: 'script needs "bunker" or "nostrconnect"' })
    return 2
  }

  let failed = 0
  const calls = script.calls || []
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i]
    const t0 = Date.now()
    try {
      const result = await withTimeout(step(signer, call), call.timeout || perCall)
      emit({ i, op: call.op, ok: true, result: result === undefined ? null : result, ms: Date.now() - t0 })
    } catch (e) {
      failed++
      emit({ i, op: call.op, ok: false, error: errorText(e), timeout: e instanceof Timeout, ms: Date.now() - t0 })
    }
  }
  emit({ op: 'end', failed })
  try { await signer.close() } catch {}
  try { pool.destroy() } catch {}
  return 0
}

// Subscriptions and sockets keep node alive: exit explicitly once the script is done.
main().then((code) => process.exit(code), (e) => {
  emit({ op: 'error', error: errorText(e) })
  process.exit(2)
})
