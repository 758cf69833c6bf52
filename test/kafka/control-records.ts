/**
 * Writes a transaction marker (a control record: COMMIT or ABORT) into a partition of the mock
 * cluster, as a real broker does when a transaction ends.
 *
 * Why by hand: the librdkafka mock runs transactions without ever writing their markers (EndTxn
 * only answers), so a consumer on the mock never meets the offsets a real broker spends on them.
 * The mock stores a produced record batch as sent, control flag included, so one raw Produce
 * request (v3, the record batch v2 format) puts a marker where a real broker would.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

/** Control record types (the key's `type` field). */
export const ControlType = { ABORT: 0, COMMIT: 1 } as const;

const PRODUCE_API_KEY = 0;
const PRODUCE_VERSION = 3;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

/** Appends one transaction marker to `topic`/`partition` on `broker` (its leader); resolves with its offset. */
export async function writeControlRecord(
  broker: string,
  topic: string,
  partition: number,
  type: (typeof ControlType)[keyof typeof ControlType],
  producerId = 4242n,
): Promise<number> {
  const request = produceRequest(topic, partition, controlBatch(type, producerId));
  const [host, port] = splitHostPort(broker);
  const socket = connect({ host, port });
  try {
    await once(socket, 'connect');
    socket.write(request);
    const response = await readFrame(socket);
    return parseProduceResponse(response);
  } finally {
    socket.destroy();
  }
}

function controlBatch(type: number, producerId: bigint): Buffer {
  // Key: version, type. Value: version, coordinator epoch.
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(0, 2);
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    varint(0), // timestamp delta
    varint(0), // offset delta
    varint(key.length),
    key,
    varint(value.length),
    value,
    varint(0), // headers
  ]);
  const record = Buffer.concat([varint(body.length), body]);

  const now = BigInt(Date.now());
  const afterCrc = Buffer.alloc(2 + 4 + 8 + 8 + 8 + 2 + 4 + 4);
  let at = 0;
  at = afterCrc.writeInt16BE(TRANSACTIONAL | CONTROL, at);
  at = afterCrc.writeInt32BE(0, at); // last offset delta
  at = afterCrc.writeBigInt64BE(now, at);
  at = afterCrc.writeBigInt64BE(now, at);
  at = afterCrc.writeBigInt64BE(producerId, at);
  at = afterCrc.writeInt16BE(0, at); // producer epoch
  at = afterCrc.writeInt32BE(-1, at); // base sequence
  afterCrc.writeInt32BE(1, at); // record count
  const crcd = Buffer.concat([afterCrc, record]);

  const head = Buffer.alloc(8 + 4 + 4 + 1 + 4);
  head.writeBigInt64BE(0n, 0); // base offset (the broker assigns it)
  head.writeInt32BE(4 + 1 + 4 + crcd.length, 8); // batch length: from the leader epoch on
  head.writeInt32BE(-1, 12); // partition leader epoch
  head.writeInt8(2, 16); // magic
  head.writeUInt32BE(crc32c(crcd), 17);
  return Buffer.concat([head, crcd]);
}

function produceRequest(topic: string, partition: number, batch: Buffer): Buffer {
  const clientId = Buffer.from('control-records');
  const topicName = Buffer.from(topic);
  const parts: Buffer[] = [];
  const int16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    parts.push(b);
  };
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    parts.push(b);
  };
  int16(PRODUCE_API_KEY);
  int16(PRODUCE_VERSION);
  int32(1); // correlation id
  int16(clientId.length);
  parts.push(clientId);
  int16(-1); // no transactional id
  int16(-1); // acks: all
  int32(5_000); // timeout
  int32(1); // one topic
  int16(topicName.length);
  parts.push(topicName);
  int32(1); // one partition
  int32(partition);
  int32(batch.length);
  parts.push(batch);
  const payload = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** Error code and base offset of the one partition answered. */
function parseProduceResponse(frame: Buffer): number {
  let at = 4; // correlation id
  at += 4; // topic count
  const nameLength = frame.readInt16BE(at);
  at += 2 + nameLength;
  at += 4; // partition count
  at += 4; // partition index
  const errorCode = frame.readInt16BE(at);
  const baseOffset = frame.readBigInt64BE(at + 2);
  if (errorCode !== 0) throw new Error(`Produce of a control record failed with error code ${errorCode}`);
  return Number(baseOffset);
}

async function readFrame(socket: Socket): Promise<Buffer> {
  let buffered = Buffer.alloc(0);
  for await (const chunk of socket) {
    buffered = Buffer.concat([buffered, chunk as Buffer]);
    if (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) return buffered.subarray(4, 4 + buffered.readInt32BE(0));
  }
  throw new Error('the broker closed the connection before answering');
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** Zig-zag varint, as record fields are encoded. */
function varint(n: number): Buffer {
  let z = (n << 1) ^ (n >> 31);
  const bytes: number[] = [];
  while ((z & ~0x7f) !== 0) {
    bytes.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  bytes.push(z);
  return Buffer.from(bytes);
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function crc32c(buffer: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buffer) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
