#!/usr/bin/env node
// The `openstudio` command. The sources are TypeScript, run through tsx.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
