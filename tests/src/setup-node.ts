// Loaded before every integration test file: Node 20 lacks what libp2p 3 expects.
import '@openstudio/node/polyfill'
import { requireStampBits } from '@openstudio/protocol'

// The test network asks no proof of work of its stations (tests of stamps ask for it themselves): relays and CLIs started from here inherit it.
requireStampBits(0)
process.env.OPENSTUDIO_STAMP_BITS = '0'
