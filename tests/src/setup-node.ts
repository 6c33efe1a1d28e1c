// Loaded before every integration test file: Node 20 lacks what libp2p 3 expects.
import '@openstudio/node/polyfill'
