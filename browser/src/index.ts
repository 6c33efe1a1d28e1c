/** The web app is an entry point (see main.ts); nothing is exported. */
export {}
