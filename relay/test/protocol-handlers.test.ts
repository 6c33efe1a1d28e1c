/**
 * Every `handle…` of network/ that the relay and stations use hands back the
 * way to unregister what it registered, so that a service that stops leaves
 * no handler behind.
 */
import { describe, expect, it } from 'vitest'
import { handlePing, handleProgram, handleRecords, handleSignal } from '@openstudio/node'
import { PROTOCOL } from '@openstudio/protocol'
import { registrar } from './registrar.ts'

async function * nothing (): AsyncGenerator<never> {}

describe('protocol handlers', () => {
  it.each([
    ['handleSignal', PROTOCOL.signal, async (node: ReturnType<typeof registrar>) => handleSignal(node, () => {})],
    ['handlePing', PROTOCOL.ping, async (node: ReturnType<typeof registrar>) => handlePing(node)],
    ['handleProgram', PROTOCOL.program, async (node: ReturnType<typeof registrar>) => handleProgram(node, { accept: () => 'not-station' })],
    ['handleRecords', PROTOCOL.records, async (node: ReturnType<typeof registrar>) => handleRecords(node, { records: nothing, providers: nothing })]
  ])('%s returns an unhandle that unregisters %s, and only it', async (_name, protocol, register) => {
    const node = registrar()
    node.protocols.add('/other/1')
    const unhandle = await register(node)
    expect(node.protocols).toEqual(new Set(['/other/1', protocol]))
    await unhandle()
    expect(node.protocols).toEqual(new Set(['/other/1']))
    // A second call is harmless.
    await unhandle()
    expect(node.protocols).toEqual(new Set(['/other/1']))
  })
})
