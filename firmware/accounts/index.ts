/** Users of the device and their passwords; every service authenticates against this. */
export { UserDirectory, userNameProblem, RESERVED_USER_NAMES, type UserSummary } from './users.js';
export { hashPassword, verifyPassword, passwordProblem, MIN_PASSWORD_CHARS } from './passwords.js';
export { TokenStore } from './tokens.js';
