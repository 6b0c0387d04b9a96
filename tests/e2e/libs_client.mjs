#!/usr/bin/env node
// One NIP-46 client library, driven by a JSON script on stdin, for the end-to-end tests
// (test_client_libraries.py): the same ops for every library, one JSON line per step.
//
// Script: { "lib": "nostr-tools" | "nostrify" | "ndk" | "applesauce" | "welshman",
//           "bunker": "bunker://..."  or  "nostrconnect": {"relays": [...], "name": "..."},
//           "clientSecretKey": "<64 hex>", "timeout": ms per call, "totalTimeout": ms,
//           "calls": [{"op": "getPublicKey"}, {"op": "signEvent", "args": [template]},
//                     {"op": "nip44Encrypt", "args": [pubkey, text]},
//                     {"op": "nip44Decrypt", "args": [pubkey, "$2"]}, ...] }   ("$n": call n's result)
// The login (connect for bunker://, the pairing for nostrconnect://) is the "login" line.
// Lines: {"op":"uri","uri":...} (nostrconnect), {"op":"login","ok":...},
//        {"i":n,"op":...,"ok":true,"result":...} | {"i":n,"op":...,"ok":false,"error":..,"errorType":..}
//        {"op":"end","failed":k}
import './ws_global.mjs'
import { readFileSync } from 'node:fs'
import { bytesToHex, hexToBytes } from 'nostr-tools/utils'
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure'

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
process.on('unhandledRejection', (e) => console.error('unhandled rejection:', e?.message || e))

class Timeout extends Error {}
const withTimeout = (promise, ms) => {
  let timer
  return Promise.race([promise, new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`timed out after ${ms} ms`)), ms)
  })]).finally(() => clearTimeout(timer))
}

// What a caller of the library would see: welshman rejects with the response object,
// NDK with the bare error string, the others with an Error.
function errorInfo(e) {
  if (typeof e === 'string') return { error: e, errorType: 'string' }
  if (e && !(e instanceof Error) && typeof e.error === 'string') return { error: e.error, errorType: 'response' }
  return { error: String(e?.message || e), errorType: e?.constructor?.name || typeof e }
}

// Each adapter: login(script, emit) -> signer-like object with the uniform ops.
const adapters = {
  async 'nostr-tools'(script, sk) {
    const { useWebSocketImplementation, SimplePool } = await import('nostr-tools/pool')
    const { BunkerSigner, parseBunkerInput, createNostrConnectURI } = await import('nostr-tools/nip46')
    const WebSocket = (await import('ws')).default
    useWebSocketImplementation(WebSocket)
    const pool = new SimplePool()
    let s
    if (script.bunker) {
      s = BunkerSigner.fromBunker(sk, await parseBunkerInput(script.bunker), { pool })
      await s.connect()
    } else {
      const nc = script.nostrconnect
      const uri = createNostrConnectURI({ clientPubkey: getPublicKey(sk), relays: nc.relays, secret: nc.secret, name: nc.name })
      emit({ op: 'uri', uri })
      s = await BunkerSigner.fromURI(sk, uri, { pool }, nc.timeout || 60000)
    }
    return {
      getPublicKey: () => s.getPublicKey(), signEvent: (t) => s.signEvent(t),
      nip04Encrypt: (p, x) => s.nip04Encrypt(p, x), nip04Decrypt: (p, x) => s.nip04Decrypt(p, x),
      nip44Encrypt: (p, x) => s.nip44Encrypt(p, x), nip44Decrypt: (p, x) => s.nip44Decrypt(p, x),
      close: () => { s.close(); pool.destroy() },
    }
  },

  async nostrify(script, sk) {
    // NConnectSigner has no nostrconnect:// flow of its own
    const { NConnectSigner, NSecSigner, NRelay1, BunkerURI } = await import('@nostrify/nostrify')
    const uri = new BunkerURI(script.bunker)
    const relay = new NRelay1(uri.relays[0])
    const s = new NConnectSigner({ relay, pubkey: uri.pubkey, signer: new NSecSigner(sk), timeout: script.timeout || 30000 })
    await s.connect(uri.secret)
    return {
      getPublicKey: () => s.getPublicKey(), signEvent: (t) => s.signEvent(t),
      nip04Encrypt: (p, x) => s.nip04.encrypt(p, x), nip04Decrypt: (p, x) => s.nip04.decrypt(p, x),
      nip44Encrypt: (p, x) => s.nip44.encrypt(p, x), nip44Decrypt: (p, x) => s.nip44.decrypt(p, x),
      close: () => relay.close(),
    }
  },

  async ndk(script, sk) {
    const { default: NDK, NDKNip46Signer, NDKPrivateKeySigner, NDKEvent } = await import('@nostr-dev-kit/ndk')
    const ndk = new NDK({ explicitRelayUrls: [] })
    const local = new NDKPrivateKeySigner(bytesToHex(sk))
    let s
    if (script.bunker) {
      s = NDKNip46Signer.bunker(ndk, script.bunker, local)
    } else {
      const nc = script.nostrconnect
      s = NDKNip46Signer.nostrconnect(ndk, nc.relays[0], local, { name: nc.name })
      emit({ op: 'uri', uri: s.nostrConnectUri })
    }
    await s.blockUntilReady()
    return {
      getPublicKey: () => s.getPublicKey(),
      async signEvent(t) {
        const ev = new NDKEvent(ndk, t)
        await ev.sign(s)
        return ev.rawEvent()
      },
      nip04Encrypt: (p, x) => s.encrypt(ndk.getUser({ pubkey: p }), x, 'nip04'),
      nip04Decrypt: (p, x) => s.decrypt(ndk.getUser({ pubkey: p }), x, 'nip04'),
      nip44Encrypt: (p, x) => s.encrypt(ndk.getUser({ pubkey: p }), x, 'nip44'),
      nip44Decrypt: (p, x) => s.decrypt(ndk.getUser({ pubkey: p }), x, 'nip44'),
      close: () => s.stop(),
    }
  },

  async applesauce(script, sk) {
    const { NostrConnectSigner, PrivateKeySigner } = await import('applesauce-signers')
    const { RelayPool } = await import('applesauce-relay')
    const pool = new RelayPool()
    const signer = new PrivateKeySigner(sk)
    let s
    if (script.bunker) {
      s = await NostrConnectSigner.fromBunkerURI(script.bunker, { pool, signer })
    } else {
      const nc = script.nostrconnect
      s = new NostrConnectSigner({ relays: nc.relays, pool, signer, connectSecret: nc.secret })
      emit({ op: 'uri', uri: s.getNostrConnectURI({ name: nc.name }) })
      await s.waitForSigner()
    }
    return {
      getPublicKey: () => s.getPublicKey(), signEvent: (t) => s.signEvent(t),
      nip04Encrypt: (p, x) => s.nip04Encrypt(p, x), nip04Decrypt: (p, x) => s.nip04Decrypt(p, x),
      nip44Encrypt: (p, x) => s.nip44Encrypt(p, x), nip44Decrypt: (p, x) => s.nip44Decrypt(p, x),
      close: () => s.close(),
    }
  },

  async welshman(script, sk) {
    const { Nip46Broker, Nip46Signer } = await import('@welshman/signer')
    let broker
    if (script.bunker) {
      const { relays, signerPubkey, connectSecret } = Nip46Broker.parseBunkerUrl(script.bunker)
      broker = new Nip46Broker({ relays, signerPubkey, connectSecret, clientSecret: bytesToHex(sk) })
      await broker.connect(connectSecret, '')
    } else {
      const nc = script.nostrconnect
      broker = new Nip46Broker({ relays: nc.relays, clientSecret: bytesToHex(sk) })
      const uri = await broker.makeNostrconnectUrl({ name: nc.name })
      emit({ op: 'uri', uri })
      await broker.waitForNostrconnect(uri, new AbortController().signal)
    }
    const s = new Nip46Signer(broker)
    return {
      getPublicKey: () => s.getPubkey(), signEvent: (t) => s.sign(t),
      nip04Encrypt: (p, x) => s.nip04.encrypt(p, x), nip04Decrypt: (p, x) => s.nip04.decrypt(p, x),
      nip44Encrypt: (p, x) => s.nip44.encrypt(p, x), nip44Decrypt: (p, x) => s.nip44.decrypt(p, x),
      close: () => broker.cleanup(),
    }
  },
}

async function main() {
  const script = JSON.parse(readFileSync(0, 'utf8'))
  const perCall = script.timeout || 30000
  const total = script.totalTimeout || 120000
  setTimeout(() => { emit({ op: 'end', error: `total timeout ${total} ms` }); process.exit(3) }, total).unref()
  const adapter = adapters[script.lib]
  if (!adapter) {
    emit({ op: 'error', error: `unknown lib ${script.lib}` })
    return 2
  }
  const sk = script.clientSecretKey ? hexToBytes(script.clientSecretKey) : generateSecretKey()
  emit({ op: 'init', lib: script.lib, clientPubkey: getPublicKey(sk) })
  const t0 = Date.now()
  let s
  try {
    s = await withTimeout(adapter(script, sk), script.loginTimeout || perCall * 2)
    emit({ op: 'login', ok: true, ms: Date.now() - t0 })
  } catch (e) {
    emit({ op: 'login', ok: false, ...errorInfo(e), timeout: e instanceof Timeout, ms: Date.now() - t0 })
    emit({ op: 'end', failed: 1 })
    return 0
  }
  let failed = 0
  const calls = script.calls || []
  const results = []
  // an argument "$n" is the result of call n (a decrypt of what call n encrypted)
  const arg = (a) => (typeof a === 'string' && /^\$\d+$/.test(a) ? results[Number(a.slice(1))] : a)
  for (let i = 0; i < calls.length; i++) {
    const { op, args = [], timeout } = calls[i]
    const t1 = Date.now()
    try {
      if (!s[op]) throw new Error(`unknown op ${op}`)
      const result = await withTimeout(s[op](...args.map(arg)), timeout || perCall)
      results[i] = result
      emit({ i, op, ok: true, result: result === undefined ? null : result, ms: Date.now() - t1 })
    } catch (e) {
      failed++
      emit({ i, op, ok: false, ...errorInfo(e), timeout: e instanceof Timeout, ms: Date.now() - t1 })
    }
  }
  emit({ op: 'end', failed })
  try { await s.close() } catch {}
  return 0
}

// Subscriptions and sockets keep node alive: exit explicitly once the script is done.
main().then((code) => process.exit(code), (e) => {
  emit({ op: 'error', error: String(e?.stack || e) })
  process.exit(2)
})
