// Filters a noisy 440 Hz tone on the ESP32-P4 (or the emulated one) through P4-JIT's public API,
// with the filter's taps kept on the device, and checks every output sample against the same
// filter computed here in float32.
//
//   npm install /path/to/p4-jit      (or npm link)
//   node fir.mjs [--json]            (P4JIT_PORT=/dev/ttyACM0 for a board; default: the emulator)
import { fileURLToPath } from 'node:url';

import { connect } from 'p4-jit';

const RATE = 48000;
const N = 4800;
const TAPS = 31;

/** A 440 Hz sine with uniform noise from a seeded generator: the same samples on every run. */
function noisyTone(n, seed = 1) {
  let s = seed >>> 0;
  const random = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / RATE) + 0.3 * random());
}

/** A windowed-sinc low-pass at 2 kHz. */
function lowPass(taps, cutoff = 2000) {
  const fc = cutoff / RATE;
  const mid = (taps - 1) / 2;
  const h = Float32Array.from({ length: taps }, (_, k) => {
    const t = k - mid;
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
    return sinc * (0.54 - 0.46 * Math.cos((2 * Math.PI * k) / (taps - 1)));
  });
  const sum = h.reduce((a, b) => a + b, 0);
  return h.map((v) => v / sum);
}

/** The same filter in float32 arithmetic, operation by operation. */
function firOnHost(x, h) {
  const f = Math.fround;
  return Float32Array.from(x, (_, i) => {
    let acc = 0;
    for (let k = 0; k < h.length && k <= i; k++) acc = f(acc + f(h[k] * x[i - k]));
    return acc;
  });
}

const dev = await connect({
  port: process.env.P4JIT_PORT,
  emulator: !process.env.P4JIT_PORT,
  flags: ['-ffp-contract=off'], // no fused multiply-add: the host's float32 sums match bit for bit
});
try {
  const fir = await dev.load(fileURLToPath(new URL('./fir.c', import.meta.url)), 'fir');
  const x = noisyTone(N);
  const h = lowPass(TAPS);
  const taps = await dev.buffer(h); // uploaded once, passed by address
  const y = new Float32Array(N);
  const r = await fir(x, y, N, taps, TAPS);
  const expected = firOnHost(x, h);
  const mismatches = y.reduce((count, v, i) => count + (Object.is(v, expected[i]) ? 0 : 1), 0);
  const summary = {
    device: dev.label,
    function: fir.signature,
    samples: N,
    mismatches,
    count: Number(r.count),
    counter: r.counter,
    perSample: Number(r.count) / N,
    hostMs: Math.round(r.hostMs * 10) / 10,
    rmsIn: Math.sqrt(x.reduce((a, v) => a + v * v, 0) / N),
    rmsOut: Math.sqrt(y.reduce((a, v) => a + v * v, 0) / N),
  };
  if (process.argv.includes('--json')) console.log(JSON.stringify(summary));
  else {
    console.log(`${summary.function} on ${summary.device}`);
    console.log(`${N} samples: ${mismatches === 0 ? 'every output equals the host float32 result' : `${mismatches} outputs differ from the host`}`);
    console.log(`${summary.count.toLocaleString('en-US')} ${summary.counter} (${summary.perSample.toFixed(1)} per sample), ${summary.hostMs} ms in all`);
    console.log(`rms in ${summary.rmsIn.toFixed(3)}, out ${summary.rmsOut.toFixed(3)} (the noise above 2 kHz filtered out)`);
  }
  process.exitCode = mismatches === 0 ? 0 : 1;
} finally {
  await dev.close();
}
