import pkg from '../package.json' with { type: 'json' };

/** The firmware's version, from package.json so that there is one place to bump it. */
export const VERSION: string = pkg.version;
