// Node 20 has no global WebSocket; nostrify (websocket-ts), NDK and applesauce-relay use the
// global one. Imported first by libs_client.mjs, before any client library.
import WebSocket from 'ws'

if (!globalThis.WebSocket) globalThis.WebSocket = WebSocket
