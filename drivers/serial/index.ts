/**
 * The console's serial line. Device: SerialPortDriver (serialport, loaded on first open);
 * host: FakeSerialDriver (in-memory pipes).
 */
export { DEFAULT_BAUD_RATE, type SerialConnection, type SerialDriver, type SerialOpenOptions } from './connection.js';
export { SerialPortDriver, type SerialPortDriverOptions } from './serialport.js';
export { FakeSerialDriver, createSerialPair, type FakeSerialLine, type SerialPeer } from './fake.js';
