/**
 * The only runtime APIs outside ECMAScript that protocol/ may use: WHATWG URL
 * parsing and UTF-8 encoding exist alike in Node, browsers and workers. They are
 * declared here, narrowly, instead of pulling in the DOM or Node type libraries.
 */
declare class TextEncoder {
  encode (input?: string): Uint8Array
}

declare class URL {
  constructor (url: string, base?: string)
  readonly protocol: string
  readonly hostname: string
  readonly username: string
  readonly password: string
}
