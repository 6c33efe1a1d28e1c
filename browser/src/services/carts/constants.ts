/**
 * The cart wall's numbers. Times in seconds, levels in dB.
 */

/** Carts on the wall: keys 1–9 and 0 play the first ten. */
export const CART_SLOTS = 12

/** The largest file a cart takes (25 MiB): a few minutes of WAV, half an hour of MP3. */
export const MAX_CART_BYTES = 25 * 1024 * 1024

/**
 * The longest a cart may last, decoded (10 min). Carts are decoded into
 * memory to start at once: 10 min of stereo at 48 kHz is 230 MB.
 */
export const MAX_CART_SECONDS = 600

/** How far a cart that "ducks the voices" takes them down while it plays. */
export const DUCK_VOICES_DB = -12

/** How fast the voices go down under such a cart. */
export const DUCK_VOICES_DOWN_S = 0.05

/** How fast the voices come back once no such cart plays. */
export const DUCK_VOICES_UP_S = 0.3

/** A stopped cart fades out over this long rather than cut (a cut clicks). */
export const CART_FADE_S = 0.01

/** The longest file name a cart keeps, in characters. */
export const MAX_CART_NAME = 120

/** The lowest and highest gain a cart can have. */
export const CART_GAIN_DB = { min: -60, max: 12 } as const
