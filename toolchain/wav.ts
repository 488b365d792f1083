/**
 * .wav files through the `wavefile` library, with the checks it lacks (a data chunk shorter than
 * its header says is an error, never silence). Pure Node: argument prompts, the CLI, notebooks.
 */
import wavefile from 'wavefile'; // CommonJS: its class is a property of the default export

import type { ElementKind } from './ctypes.js';
import { InputError } from './errors.js';

const { WaveFile } = wavefile;

/** A decoded .wav file: samples as float32 in [-1, 1], one array per channel. */
export interface WavData {
  sampleRate: number;
  /** The first channel (the whole signal for mono). */
  samples: Float32Array;
  channels: Float32Array[];
  /** The sample format in the file, e.g. '16' (PCM) or '32f'. */
  bitDepth: string;
  /** The file's own samples, all channels interleaved, little-endian, as stored. */
  pcm: Buffer;
}

/** The C element type whose raw values a PCM sample format is ('16' → int16_t), if any. */
const NATIVE: Record<string, ElementKind> = { '8': 'u8', '16': 'i16', '32': 'i32', '32f': 'f32', '64': 'f64' };

export function decodeWav(bytes: Buffer, name: string): WavData {
  const wav = new WaveFile();
  try {
    wav.fromBuffer(bytes);
  } catch (e) {
    throw new InputError(`${name} is not a readable .wav file: ${(e as Error).message}`);
  }
  // read before converting: toBitDepth replaces `fmt` with a fresh object
  const { numChannels, sampleRate, bitsPerSample } = wav.fmt as { numChannels: number; sampleRate: number; bitsPerSample: number };
  const data = wav.data as { chunkSize: number; samples: Uint8Array };
  if (!numChannels || !sampleRate) throw new InputError(`${name} has no valid 'fmt ' chunk (channels ${numChannels}, rate ${sampleRate})`);
  const frameBytes = (numChannels * bitsPerSample) / 8;
  if (data.samples.length < data.chunkSize) {
    throw new InputError(`${name} is truncated: its data chunk promises ${data.chunkSize} bytes but ${data.samples.length} are there`);
  }
  if (!data.samples.length || data.samples.length % frameBytes !== 0) {
    throw new InputError(`${name} holds ${data.samples.length} bytes of samples, not a whole number of ${frameBytes}-byte frames`);
  }
  const pcm = Buffer.from(data.samples);
  const bitDepth = wav.bitDepth as string;
  if (bitDepth !== '32f') wav.toBitDepth('32f');
  const raw = wav.getSamples(false, Float32Array) as unknown as Float32Array | Float32Array[];
  const channels = numChannels === 1 ? [raw as Float32Array] : (raw as Float32Array[]);
  return { sampleRate, samples: channels[0], channels, bitDepth, pcm };
}

/**
 * The elements a pointer argument gets from a .wav file: `float *`/`double *` the samples scaled to
 * [-1, 1]; an integer type the file's own samples when they are that type (16-bit PCM for
 * `int16_t *`). Several channels come interleaved, as the file stores them.
 */
export function wavElements(bytes: Buffer, name: string, element: ElementKind, typeText: string): Buffer {
  const wav = decodeWav(bytes, name);
  if (element === 'f32' || element === 'f64') {
    const frames = wav.samples.length;
    const out = element === 'f32' ? new Float32Array(frames * wav.channels.length) : new Float64Array(frames * wav.channels.length);
    for (let i = 0; i < frames; i++) wav.channels.forEach((ch, c) => { out[i * wav.channels.length + c] = ch[i]; });
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }
  if (NATIVE[wav.bitDepth] === element) return wav.pcm;
  const native = NATIVE[wav.bitDepth];
  throw new InputError(`${name} holds ${wav.bitDepth.endsWith('f') ? `${parseInt(wav.bitDepth, 10)}-bit float` : `${wav.bitDepth}-bit PCM`} samples; '${typeText} *' cannot take them: ` +
    `use float * (scaled to [-1, 1])${native ? ` or ${native === 'u8' ? 'uint8_t' : native === 'i16' ? 'int16_t' : native === 'i32' ? 'int32_t' : 'double'} * (the samples as stored)` : ''}`);
}
