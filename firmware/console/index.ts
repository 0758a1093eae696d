/** The console: a shell of commands reached from the terminal, a local socket or a serial port. */
export { Shell, splitWords, MAX_LINE_BYTES, type ConsoleCommand, type ConsoleIO } from './shell.js';
export { startSession, type ConsoleSession, type SessionStreams } from './session.js';
export { ConsoleSocketService } from './socket.js';
export { attachConsole } from './client.js';
export { addRuntimeCommands, type StopRequest } from './commands.js';
export { addSetupCommands, type SetupContext } from './setup.js';
export { addDataCommands } from './data-commands.js';
export { ConsolePassword } from './password.js';
