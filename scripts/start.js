// Placeholder until the relay exists: reports what is there.
console.log('OpenStudio: protocol core only so far; the relay and the web app come next.')
